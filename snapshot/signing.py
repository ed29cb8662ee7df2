"""The portal's Ed25519 key: it signs each snapshot's manifest, so a mirror can prove it holds the portal's copy."""

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def signing_key():
    """The installation's private key: the file KPU_SNAPSHOT_KEY_FILE names, made once outside production."""
    path = settings.SNAPSHOT_KEY_FILE
    if not path.exists():
        if settings.PRODUCTION:
            raise ImproperlyConfigured(f"{path} does not exist: production signs snapshots with a key it is given.")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(
                    Ed25519PrivateKey.generate().private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    )
                )
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key_pem():
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(data):
    """The base64 Ed25519 signature of `data`."""
    return base64.b64encode(signing_key().sign(data)).decode()
