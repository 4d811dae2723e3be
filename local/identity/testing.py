"""Test helpers: tokens that should and should not pass verification, minted like the issuer mints them."""

from __future__ import annotations

import socket
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iamcheck.accounts import OWNER
from iamcheck.grants import policy_for
from identity.keys import SigningKey
from identity.server import Issuer, IssuerServer
from identity.tokens import mint_id_token

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
IDENTITY_TOOLKIT_API_ENV = "IDENTITY_TOOLKIT_API_URL"  # the admin API's seam (admin_api.identity_platform)


@dataclass
class TokenFactory:
    """Mints ID tokens for ``issuer``'s project: valid ones and each kind of bad one."""

    issuer: Issuer
    other_key: SigningKey = field(default_factory=lambda: SigningKey.generate(datetime.now(UTC)))

    def valid(self, role: str | None = "admin", email: str = "admin@spreadpilot.local",
              at: datetime | None = None) -> str:
        return mint_id_token(self.issuer.key, project=self.issuer.project, uid=f"uid-{email.split('@')[0]}",
                             email=email, role=role, issued_at=at or datetime.now(UTC))

    def expired(self, role: str = "admin") -> str:
        return mint_id_token(self.issuer.key, project=self.issuer.project, uid="uid-admin",
                             email="admin@spreadpilot.local", role=role,
                             issued_at=datetime.now(UTC) - timedelta(hours=2), lifetime_s=3600)

    def forged(self, role: str = "admin") -> str:
        """Right claims and the issuer's key id, signed by a key the issuer never published."""
        return mint_id_token(self.other_key, project=self.issuer.project, uid="uid-admin",
                             email="admin@spreadpilot.local", role=role, issued_at=datetime.now(UTC),
                             kid=self.issuer.key.kid)

    def wrong_audience(self, role: str = "admin") -> str:
        return mint_id_token(self.issuer.key, project=self.issuer.project, uid="uid-admin",
                             email="admin@spreadpilot.local", role=role, issued_at=datetime.now(UTC),
                             audience="another-project")

    def wrong_issuer(self, role: str = "admin") -> str:
        return mint_id_token(self.issuer.key, project=self.issuer.project, uid="uid-admin",
                             email="admin@spreadpilot.local", role=role, issued_at=datetime.now(UTC),
                             issuer="https://securetoken.google.com/another-project")


class SessionServers:
    """One issuer and one web-app origin per test process, shared by every test area that serves the admin API
    (the stack serves a function once per session, so its settings must be the same for all of them)."""

    issuer: IssuerServer | None = None
    web_port: int | None = None
    statements_root: Path | None = None

    @classmethod
    def issuer_for(cls, project: str) -> IssuerServer:
        """The issuer, whose admin API answers only callers iam.tf grants (the admin API's service account)."""
        if cls.issuer is None:
            policy = policy_for(TERRAFORM, project, [OWNER])
            cls.issuer = IssuerServer(Issuer(project, policy=policy)).__enter__()
        return cls.issuer

    @classmethod
    def web_origin(cls) -> str:
        if cls.web_port is None:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                cls.web_port = int(sock.getsockname()[1])
        return f"http://127.0.0.1:{cls.web_port}"

    @classmethod
    def statements_dir(cls) -> Path:
        if cls.statements_root is None:
            cls.statements_root = Path(tempfile.mkdtemp(prefix="statements-"))
        return cls.statements_root

    @classmethod
    def admin_api_env(cls, project: str) -> dict[str, str]:
        """The admin API's settings for tests: the local issuer's certificates and admin API (the seam), the web
        origin, statements."""
        return {"SPREADPILOT_AUTH_CERT_URL": cls.issuer_for(project).cert_url,
                IDENTITY_TOOLKIT_API_ENV: cls.issuer_for(project).base_url,
                "SPREADPILOT_WEB_BASE_URL": cls.web_origin(),
                "SPREADPILOT_STATEMENTS_DIR": str(cls.statements_dir())}
