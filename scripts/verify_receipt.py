#!/usr/bin/env python3
"""Checks a Hromada Ledger receipt's Ed25519 signature without the Swift code (docs/AUDIT.md).

    scripts/verify_receipt.py RECEIPT.json PUBLIC-KEY-FILE [--pure]

Exit 0 and "ok: ..." when the receipt names the public key and its signature holds over the
signed bytes; exit 1 with the reason otherwise. It checks the signature only: whether a log still
has that hash at that position is `admin receipt verify`'s (or any reader of the log's) part.

It uses the `cryptography` package when it is installed; otherwise (or with --pure) a plain
RFC 8032 Ed25519 verification written out below, so that the check never depends on the
Swift build's own crypto library.
"""
import base64
import hashlib
import json
import sys

FORMAT = "hromada-ledger-receipt 1"
PUBLIC_HEADER = "hromada-ledger ed25519 public key"


def signed_bytes(doc):
    """The canonical JSON of the document without "signature": keys sorted, compact.

    Every value of a receipt is ASCII text or an integer, so json.dumps gives the same bytes
    as the store's canonical encoding (docs/FORMAT.md)."""
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def read_public_key(path):
    lines = [l.strip() for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
    if len(lines) != 2 or lines[0] != PUBLIC_HEADER:
        raise ValueError(f"{path} is not a public key file (first line {PUBLIC_HEADER!r})")
    raw = base64.b64decode(lines[1], validate=True)
    if len(raw) != 32:
        raise ValueError(f"{path}: the key is not 32 bytes")
    return raw


# --- RFC 8032 section 5.1.7, verification, in plain Python -----------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
I = pow(2, (P - 1) // 4, P)  # sqrt(-1)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * I % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decode_point(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


_GY = 4 * pow(5, P - 2, P) % P
G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % P)


def pure_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decode_point(public)
    r = _decode_point(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


def library_verify(public, message, signature):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except InvalidSignature:
        return False


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    pure = "--pure" in argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    doc = json.load(open(args[0], encoding="utf-8"))
    if doc.get("format") != FORMAT or doc.get("algorithm") != "Ed25519":
        print(f"error: not a receipt of format {FORMAT!r}", file=sys.stderr)
        return 1
    trusted = read_public_key(args[1])
    if base64.b64decode(doc["publicKey"]) != trusted:
        print("error: the receipt is signed by another key than the public key given", file=sys.stderr)
        return 1
    signature = base64.b64decode(doc["signature"])
    verifier = "pure-python RFC 8032"
    if pure:
        good = pure_verify(trusted, signed_bytes(doc), signature)
    else:
        try:
            good = library_verify(trusted, signed_bytes(doc), signature)
            verifier = "cryptography"
        except ImportError:
            good = pure_verify(trusted, signed_bytes(doc), signature)
    if not good:
        print(f"error: the signature does not hold ({verifier}): the receipt was altered or forged", file=sys.stderr)
        return 1
    print(f"ok: signature holds ({verifier}): store {doc['store']} had hash {doc['hash']} at position {doc['position']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
