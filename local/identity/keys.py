"""The issuer's signing key and its self-signed certificate, in the format Google publishes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair with its key id and x509 certificate (PEM)."""

    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: str

    @classmethod
    def generate(cls, now: datetime, common_name: str = "securetoken.system.gserviceaccount.com") -> SigningKey:
        """A fresh 2048-bit key with a certificate valid for a day around ``now``."""
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(private_key, hashes.SHA256())
        )
        der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = hashlib.sha1(der, usedforsecurity=False).hexdigest()
        return cls(kid=kid, private_key=private_key,
                   certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))

    def private_pem(self) -> bytes:
        """The private key as PKCS#8 PEM (for signing with PyJWT)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def certificates_doc(keys: list[SigningKey]) -> dict[str, str]:
    """``{kid: PEM certificate}``, the body of Google's securetoken x509 metadata endpoint."""
    return {key.kid: key.certificate_pem for key in keys}
