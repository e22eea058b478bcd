"""Bounded in-memory store of fitted theme models, so /v1/themes/assign can reuse a clustering by id.

Per process and lost on restart by design: a client that needs durable themes passes the report's
theme centroids back instead (stateless assignment).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

from service.themes.model import ThemeModel


def model_id_for(version: str, texts: Sequence[str], languages: Sequence[str], n_themes: int | None, params: object) -> str:
    """Same input + settings -> same id (clustering is deterministic, so the id names the result)."""
    h = hashlib.sha256()
    h.update(json.dumps([version, n_themes, repr(params)]).encode())
    for t, lang in zip(texts, languages):
        h.update(b"\x00" + lang.encode() + b"\x01" + t.encode("utf-8", "surrogatepass"))
    return "tm-" + h.hexdigest()[:20]


class ModelRegistry:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, ThemeModel] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, model_id: str, model: ThemeModel) -> None:
        with self._lock:
            self._items[model_id] = model
            self._items.move_to_end(model_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get(self, model_id: str) -> ThemeModel | None:
        with self._lock:
            model = self._items.get(model_id)
            if model is not None:
                self._items.move_to_end(model_id)
            return model
