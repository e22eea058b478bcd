"""The CX review web app served at ``/app`` (server-rendered Jinja2 pages, a little vanilla JS)."""
