"""The k8s lab's keys and certificates, made fresh for each lab: a CA, the API server's serving
certificate (for 127.0.0.1 and the in-cluster names), one client certificate in the
``system:masters`` group for every lab component and chaosrun itself, and the service-account
signing key. EC P-256 keys: quick to make, accepted everywhere in Kubernetes."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["LabPki", "make_pki"]

VALID_DAYS = 30
SERVER_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
SERVER_IPS = ("127.0.0.1", "10.96.0.1")  # the first Service IP: never reached, only named


@dataclass(frozen=True, slots=True)
class LabPki:
    """PEM text of every file the lab's control plane reads."""

    ca_cert: str
    ca_key: str
    server_cert: str
    server_key: str
    admin_cert: str
    admin_key: str
    service_account_key: str
    service_account_public: str

    def files(self, prefix: str) -> tuple[tuple[str, str], ...]:
        """(path under `prefix`, content) of every file, for a lab service's `files`."""
        names = {
            "ca.crt": self.ca_cert,
            "ca.key": self.ca_key,
            "apiserver.crt": self.server_cert,
            "apiserver.key": self.server_key,
            "admin.crt": self.admin_cert,
            "admin.key": self.admin_key,
            "sa.key": self.service_account_key,
            "sa.pub": self.service_account_public,
        }
        return tuple((f"{prefix}/{name}", text) for name, text in names.items())


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(common: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def make_pki() -> LabPki:
    ca_key = _key()
    ca_name = _name("chaosrun-lab-ca")
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    server_key = _key()
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    server = (
        _builder(_name("kube-apiserver"), ca_name, server_key.public_key())
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    admin_key = _key()
    admin = (
        _builder(_name("chaosrun-admin", "system:masters"), ca_name, admin_key.public_key())
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    sa_key = _key()
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return LabPki(
        ca_cert=_cert_pem(ca),
        ca_key=_key_pem(ca_key),
        server_cert=_cert_pem(server),
        server_key=_key_pem(server_key),
        admin_cert=_cert_pem(admin),
        admin_key=_key_pem(admin_key),
        service_account_key=_key_pem(sa_key),
        service_account_public=sa_public.decode(),
    )
