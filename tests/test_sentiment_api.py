"""API-level: with the shipped sentiment model the service is ready and returns sentiment."""

from __future__ import annotations


def test_readyz_is_200_with_sentiment_loaded(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["components"]["sentiment"].startswith("sentiment-e5-")


def test_analyze_returns_sentiment(client):
    comments = [
        {"id": "p", "text": "Excellent service and very friendly staff, I am really happy!"},
        {"id": "m", "text": "Personalen var jättetrevlig. Men leveransen var en katastrof och ingen svarade."},
    ]
    r = client.post("/v1/comments/analyze", json={"comments": comments})
    assert r.status_code == 200, r.text
    body = r.json()
    by_id = {x["id"]: x for x in body["results"]}
    assert by_id["p"]["sentiment"]["label"] == "positive"
    mixed = by_id["m"]["sentiment"]
    assert len(mixed["sentences"]) == 2 and mixed["sentences"][0]["score"] > mixed["sentences"][1]["score"]
    assert body["models"]["sentiment"] == mixed["model_version"]
