"""The token endpoints: log-in throttled by address and by username; tokens that die with a password change.

- `POST token/` is limited to API_TOKEN_THROTTLE attempts (default 10 a minute) per client address and,
  separately, per username: rotating addresses (or forging X-Forwarded-For) does not buy more guesses at
  one account, and one address cannot try many accounts fast. The address is the socket's (REMOTE_ADDR;
  on Lambda, the client address API Gateway saw, as Zappa's handler sets it), never a header the client
  writes, unless API_NUM_PROXIES says how many proxies of yours sit in front.
- Every token carries a hash of the user's password hash (simplejwt's CHECK_REVOKE_TOKEN): changing the
  password revokes every access and refresh token issued before; a deactivated user is refused at once.
- Refresh tokens rotate: `token/refresh/` answers a new refresh token and blacklists the one it was given
  (simplejwt's blacklist app), so a stolen refresh token works at most once.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping

from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from inventory_alloc.strict import StrictQueryParamsMixin


class LoginAddressThrottle(ScopedRateThrottle):
    """Attempts per client address (the `token` rate)."""


class LoginUsernameThrottle(SimpleRateThrottle):
    """Attempts per username, whatever the address (the `token` rate)."""

    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data if isinstance(request.data, Mapping) else {}
        username = str(data.get("username") or "").strip().lower()
        if not username:
            return None
        return self.cache_format % {"scope": "token-user", "ident": hashlib.sha256(username.encode()).hexdigest()}


class LoginViewMixin(StrictQueryParamsMixin):
    throttle_classes = [LoginAddressThrottle, LoginUsernameThrottle]
    throttle_scope = "token"


class RevocationCheckingRefreshSerializer(TokenRefreshSerializer):
    """Refuse (401) a refresh token of a user who is gone, inactive, or changed the password since."""

    def validate(self, attrs: dict) -> dict:
        refresh = RefreshToken(attrs["refresh"])
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        revoked = api_settings.CHECK_REVOKE_TOKEN and (
            user is None or refresh.payload.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)
        )
        if user is None or revoked or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise exceptions.AuthenticationFailed("The token was revoked (password changed or user deactivated).",
                                                  "token_revoked")
        return super().validate(attrs)


class LoginView(LoginViewMixin, TokenObtainPairView):
    """Exchange a username and password for an access token and a refresh token."""


class RefreshView(LoginViewMixin, TokenRefreshView):
    """Exchange a refresh token for a new access token and a new refresh token (the old one is spent)."""

    serializer_class = RevocationCheckingRefreshSerializer


class VerifyView(LoginViewMixin, TokenVerifyView):
    """Check that a token is valid (200) or not (401)."""
