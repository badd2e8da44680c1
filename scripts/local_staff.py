"""The local platform's staff, so that the admin tokens `python3 dev.py up` prints are accepted.

A caller's role is what their stored account says, never their token. So the local
platform founds its staff the way an entity does (`seed_staff`):

1. two founding `admin.super` accounts, through the ops command
   (`python -m scripts.bootstrap_admin`), with the users function's environment;
2. an `admin.credit` and two `admin.finance` staff members, each registering
   through the users function (`POST /users`, a NIK the providers sandbox
   confirms), proposed by one founder (`POST /users/{id}/role-grants`) and
   approved by the other (`POST /users/role-grants/{grant}/approve`).

`LOCAL_STAFF` names them; their token subjects are the ones `scripts.local_platform`
prints tokens for. The identities are fictitious (DKI Jakarta NIKs whose date
part is the stated birth date, which is what the sandbox's civil registry checks).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StaffMember:
    sub: str  # the token subject, and so the account id
    role: str
    full_name: str
    birth_date: date
    nik: str
    phone: str

    @property
    def registration(self) -> dict[str, Any]:
        return {
            "role": "staff",
            "full_name": self.full_name,
            "birth_date": self.birth_date.isoformat(),
            "nik": self.nik,
            "phone": self.phone,
        }


FOUNDERS = (
    StaffMember(
        "local-admin-super", "admin.super", "Sari Pengelola", date(1985, 7, 5),
        "3174014507850001", "+6281100000001",
    ),
    StaffMember(
        "local-admin-super-2", "admin.super", "Budi Pengawas", date(1982, 3, 12),
        "3174011203820002", "+6281100000002",
    ),
)  # fmt: skip
GRANTED = (
    StaffMember(
        "local-admin-credit", "admin.credit", "Dewi Analis", date(1990, 11, 20),
        "3174016011900003", "+6281100000003",
    ),
    StaffMember(
        "local-admin-finance", "admin.finance", "Agus Bendahara", date(1988, 2, 14),
        "3174011402880004", "+6281100000004",
    ),
    # A second admin.finance: money movements are made by one and checked by another.
    StaffMember(
        "local-admin-finance-2", "admin.finance", "Rina Pemeriksa", date(1991, 6, 8),
        "3174014806910005", "+6281100000005",
    ),
)  # fmt: skip
LOCAL_STAFF = (*FOUNDERS, *GRANTED)


class StaffSeedingFailed(RuntimeError):
    """A step of founding the local staff was refused; the message says which and why."""


def found(member: StaffMember, environment: dict[str, str], replaces: tuple[str, ...]) -> None:
    """One founding admin.super, through the ops command, as ops found an entity."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(replaces)}
    command = [
        sys.executable, "-m", "scripts.bootstrap_admin",
        "--user-id", member.sub,
        "--full-name", member.full_name,
        "--birth-date", member.birth_date.isoformat(),
        "--nik", member.nik,
        "--phone", member.phone,
        "--verified-by", "local platform: fictitious staff",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**inherited, "PYTHONPATH": str(ROOT), **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StaffSeedingFailed(
            f"founding {member.sub}: {result.stderr.strip() or result.stdout.strip()}"
        )


def seed_staff(
    client: Any, users_environment: dict[str, str], replaces: tuple[str, ...]
) -> tuple[StaffMember, ...]:
    """Found the local staff (see the module docstring); `client` is a `PlatformClient`."""
    with ThreadPoolExecutor(max_workers=len(FOUNDERS)) as pool:
        for future in [pool.submit(found, m, users_environment, replaces) for m in FOUNDERS]:
            future.result()
    proposer, approver = FOUNDERS
    for member in GRANTED:
        _expect(
            client.call(
                "users", "POST", "/", sub=member.sub, json=member.registration,
                idempotency_key=f"register-{uuid.uuid4()}",
            ),
            201, f"registering {member.sub}",
        )  # fmt: skip
        grant = _expect(
            client.call(
                "users", "POST", f"/{member.sub}/role-grants", sub=proposer.sub,
                json={"role": member.role, "narrative": "Local platform staff, for development."},
                idempotency_key=f"grant-{uuid.uuid4()}",
            ),
            201, f"proposing {member.role} for {member.sub}",
        )  # fmt: skip
        _expect(
            client.call(
                "users", "POST", f"/role-grants/{grant['id']}/approve", sub=approver.sub,
                idempotency_key=f"approve-{uuid.uuid4()}",
            ),
            200, f"approving {member.role} for {member.sub}",
        )  # fmt: skip
    return LOCAL_STAFF


def _expect(response: Any, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise StaffSeedingFailed(f"{what}: HTTP {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer
