"""Helpers for the REST API tests: users in the API groups and clients holding their JWT."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

API = "/api/v1/"
__all__ = ["API", "_fresh_throttle_counts", "allocator", "clerk", "viewer", "webhook_manager", "client_for", "user_in"]


def user_in(group: str | None, username: str | None = None, **fields) -> User:
    """Return a new user in the given API group (viewer, clerk, allocator; None: no group)."""
    user = User.objects.create_user(username or f"{group or 'nobody'}-user", password="s3cret-pass-123", **fields)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(user: User) -> APIClient:
    """Return an API client sending the user's JWT access token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Start every API test with empty throttle counters (they live in the local-memory cache)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def allocator(db) -> APIClient:
    return client_for(user_in("allocator"))


@pytest.fixture
def clerk(db) -> APIClient:
    return client_for(user_in("clerk"))


@pytest.fixture
def viewer(db) -> APIClient:
    return client_for(user_in("viewer"))


@pytest.fixture
def webhook_manager(db) -> APIClient:
    """A client whose user is in no group but holds the four `allocation.*_webhookendpoint` permissions."""
    user = user_in(None, "webhook-manager")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="allocation",
                                                         codename__endswith="_webhookendpoint"))
    return client_for(user)
