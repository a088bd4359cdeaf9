"""The token endpoints under attack: forged addresses, rotated addresses, changed passwords, reused refresh tokens."""
import pytest
from rest_framework.test import APIClient

from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, user_in

PASSWORD = "s3cret-pass-123"


def login(client: APIClient, username: str, password: str, **headers) -> int:
    return client.post(f"{API}token/", {"username": username, "password": password}, format="json", **headers).status_code


def test_forged_forwarded_for_headers_do_not_escape_the_login_throttle(db):
    # given: one client that writes a different X-Forwarded-For on every attempt, at 40 usernames
    client = APIClient()
    # when
    statuses = [login(client, f"user{n}", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}") for n in range(40)]
    # then: the address is the socket's, so the eleventh attempt is throttled
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}


def test_rotating_addresses_do_not_buy_more_guesses_at_one_username(db):
    # given: 40 guesses at one account, each from another address
    user_in("viewer", username="alice")
    client = APIClient()
    # when
    statuses = [login(client, "Alice", f"guess{n}", REMOTE_ADDR=f"192.0.2.{n}") for n in range(40)]
    # then: the username is throttled on its own (names compare without case)
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    assert login(client, "bob", "guess", REMOTE_ADDR="192.0.2.200") == 401  # another name, another address: its own count


def test_a_password_change_revokes_every_token_issued_before(db):
    # given: tokens issued under the old password
    user = user_in("viewer", username="alice")
    client = APIClient()
    tokens = client.post(f"{API}token/", {"username": "alice", "password": PASSWORD}, format="json").json()
    # when
    user.set_password("an-entirely-new-pass-456")
    user.save()
    # then
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(f"{API}items/").status_code == 401
    refreshed = APIClient().post(f"{API}token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert login(APIClient(), "alice", "an-entirely-new-pass-456") == 200


def test_a_deactivated_user_loses_access_and_refresh_at_once(db):
    user = user_in("viewer", username="alice")
    tokens = APIClient().post(f"{API}token/", {"username": "alice", "password": PASSWORD}, format="json").json()

    user.is_active = False
    user.save()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(f"{API}items/").status_code == 401
    assert APIClient().post(f"{API}token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_a_refresh_token_is_spent_when_used_and_the_answer_carries_the_next_one(db):
    # given
    user_in("viewer", username="alice")
    client = APIClient()
    first = client.post(f"{API}token/", {"username": "alice", "password": PASSWORD}, format="json").json()["refresh"]
    # when
    answer = client.post(f"{API}token/refresh/", {"refresh": first}, format="json")
    again = client.post(f"{API}token/refresh/", {"refresh": first}, format="json")
    # then
    assert answer.status_code == 200 and answer.json()["refresh"] != first
    assert again.status_code == 401
    assert client.post(f"{API}token/refresh/", {"refresh": answer.json()["refresh"]}, format="json").status_code == 200


@pytest.mark.parametrize("path", ["token/", "token/refresh/", "token/verify/"])
def test_a_token_endpoint_answers_a_deeply_nested_body_with_a_400(db, path):
    body = "[" * 100_000 + "]" * 100_000

    response = APIClient().generic("POST", f"{API}{path}", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
