"""A minimal token issuer for the overhead benchmark: an ES256 key, its JWKS served on
loopback, and one access token for a resource, printed as the first line of stdout.

    python issuer.py PORT RESOURCE SCOPE   # prints the token, then serves /jwks until killed

Needs `pyjwt[crypto]` (the Python MCP SDK depends on it). Loopback only.
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


def main() -> None:
    port, resource, scope = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    issuer = f"http://127.0.0.1:{port}"
    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "bench", "alg": "ES256", "use": "sig"})
    jwks = json.dumps({"keys": [public]}).encode()
    now = int(time.time())
    claims = {"iss": issuer, "aud": resource, "sub": "bench", "scope": scope, "iat": now, "exp": now + 3600}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "bench"})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != "/jwks":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(token, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
