"""Bearer tokens of an external identity provider (Cognito-like), checked against a JWKS served locally."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, user_in

ISSUER = "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_TEST"
AUDIENCE = "client-123"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key():
    return _rsa_key()


@pytest.fixture
def jwks_url(signing_key, settings):
    """Serve the key's JWKS on a free loopback port for the test, and point the settings at it."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "test-key", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    settings.JWT_JWKS_URL, settings.JWT_ISSUER, settings.JWT_AUDIENCE = url, ISSUER, AUDIENCE
    yield url
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def token(key, **claims) -> str:
    payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "username": "carol", **claims}
    payload = {name: value for name, value in payload.items() if value is not None}  # None: leave the claim out
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "test-key"})


def get_items(bearer: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer}")
    return client.get(f"{API}items/")


def test_a_provider_token_of_a_known_user_is_accepted(db, jwks_url, signing_key):
    user_in("viewer", username="carol")
    assert get_items(token(signing_key)).status_code == 200


def test_a_provider_token_of_an_unknown_user_is_401(db, jwks_url, signing_key):
    response = get_items(token(signing_key, username="nobody"))
    assert response.status_code == 401
    assert "No active user" in response.json()["detail"]


def test_the_user_claim_is_configurable_for_cognito_usernames(db, jwks_url, signing_key, settings):
    settings.JWT_USER_CLAIM = "cognito:username"
    user_in("viewer", username="dave")
    assert get_items(token(signing_key, **{"username": "someone-else", "cognito:username": "dave"})).status_code == 200


def test_a_cognito_access_token_is_matched_on_its_client_id(db, jwks_url, signing_key):
    user_in("viewer", username="carol")
    payload = token(signing_key, aud=None, client_id=AUDIENCE)
    assert get_items(payload).status_code == 200


@pytest.mark.parametrize("claims", [
    {"iss": "https://evil.example.com"},
    {"aud": "another-client"},
    {"exp": int(time.time()) - 60},
])
def test_a_provider_token_with_a_wrong_issuer_audience_or_expiry_is_401(db, jwks_url, signing_key, claims):
    user_in("viewer", username="carol")
    assert get_items(token(signing_key, **claims)).status_code == 401


def test_a_token_signed_by_another_key_is_401(db, jwks_url):
    user_in("viewer", username="carol")
    assert get_items(token(_rsa_key())).status_code == 401


def test_without_a_jwks_url_provider_tokens_are_refused(db, signing_key, settings):
    settings.JWT_JWKS_URL = ""
    user_in("viewer", username="carol")
    assert get_items(token(signing_key)).status_code == 401


def test_the_apis_own_tokens_still_work_with_a_provider_configured(db, jwks_url):
    user_in("viewer", username="alice")
    tokens = APIClient().post(f"{API}token/", {"username": "alice", "password": "s3cret-pass-123"}, format="json").json()
    assert get_items(tokens["access"]).status_code == 200
