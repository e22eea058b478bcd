"""API keys and tenants: the key store, the per-key rate limiter and the web app's signed sign-in cookie.

The FastAPI side (the ``current_tenant`` dependency) is ``service/api/auth.py``; the ``touchpoints keys``
commands are ``service/auth/cli.py``.
"""
