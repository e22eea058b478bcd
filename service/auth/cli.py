"""``touchpoints keys create|list|revoke``: manage API keys in the service's database (settings.database_url).

A key is printed once, when it is created; the database keeps only its hash. Keys only matter when the
service runs with TOUCHPOINTS_AUTH_REQUIRED=true.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from service.auth.keys import ApiKeyStore, KeyInfo, check_tenant


def _store() -> ApiKeyStore:
    from service.config import get_settings  # noqa: PLC0415
    from service.storage import make_engine  # noqa: PLC0415

    return ApiKeyStore(make_engine(get_settings().database_url))


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "-"


def _row(k: KeyInfo) -> dict[str, str | None]:
    return {"id": k.id, "tenant": k.tenant, "name": k.name, "prefix": k.prefix, "created": _when(k.created_at),
            "revoked": _when(k.revoked_at) if k.revoked_at else None,
            "last_used": _when(k.last_used_at) if k.last_used_at else None}


def _create(args: argparse.Namespace) -> int:
    try:
        check_tenant(args.tenant)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info, key = _store().create(args.tenant, args.name)
    if args.json:
        print(json.dumps({**_row(info), "key": key}))
    else:
        print(key)
        print(f"created key {info.id} for tenant {info.tenant!r} ({info.name}); it is shown only now: store it safely",
              file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    keys = _store().list(args.tenant)
    if args.json:
        print(json.dumps([_row(k) for k in keys]))
        return 0
    cols = ("id", "tenant", "name", "prefix", "created", "revoked", "last_used")
    table = [cols, *[tuple(_row(k)[c] or "-" for c in cols) for k in keys]]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(cols))]
    for r in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
    return 0


def _revoke(args: argparse.Namespace) -> int:
    info = _store().revoke(args.id)
    if info is None:
        print(f"error: no API key {args.id!r} (see touchpoints keys list)", file=sys.stderr)
        return 1
    print(f"revoked key {info.id} ({info.name}, tenant {info.tenant!r}) at {_when(info.revoked_at)} UTC")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke API keys (TOUCHPOINTS_AUTH_REQUIRED=true)",
                          description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key for a tenant and print it (once)")
    create.add_argument("--tenant", required=True, help="who the key's data belongs to, e.g. a team or customer")
    create.add_argument("--name", required=True, help="what the key is for, e.g. the person or the integration")
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    create.set_defaults(func=_create)
    lst = ksub.add_parser("list", help="list keys (never the keys themselves): id, tenant, name, prefix, dates")
    lst.add_argument("--tenant", help="only this tenant's keys")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by id: it stops working at once, in every process")
    revoke.add_argument("id", help="the key's id, from 'touchpoints keys list'")
    revoke.set_defaults(func=_revoke)
