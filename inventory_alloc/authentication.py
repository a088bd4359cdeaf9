"""Bearer tokens from an external identity provider (e.g. AWS Cognito), checked against its JWKS.

Active only when settings.JWT_JWKS_URL is set. It looks at RS256 bearer tokens
only (the API's own HS256 tokens go on to simplejwt), verifies the signature
with the provider's published keys (PyJWT's PyJWKClient, which caches them),
the expiry, the issuer (JWT_ISSUER) and the audience (JWT_AUDIENCE, compared
with `aud`, or with `client_id` as in Cognito access tokens), and then finds the
user whose username equals the claim JWT_USER_CLAIM (default `username`;
`cognito:username` for Cognito id tokens). An unknown user is refused (401).
"""
from __future__ import annotations

import functools

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions


@functools.lru_cache(maxsize=4)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """Return the (key-caching) JWKS client of `url`, one per process."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=10)


class JWKSAuthentication(authentication.BaseAuthentication):
    """Authenticate RS256 bearer tokens of an external identity provider."""

    www_authenticate_realm = "api"

    def authenticate(self, request):
        url = settings.JWT_JWKS_URL
        if not url:
            return None
        token = self._bearer_token(request)
        if token is None:
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None  # not a JWT: another class (or none) will answer
        if header.get("alg") != "RS256":
            return None
        claims = self._verified_claims(url, token)
        return self._user(claims), claims

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'

    @staticmethod
    def _bearer_token(request) -> str | None:
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        try:
            return parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None

    @staticmethod
    def _verified_claims(url: str, token: str) -> dict:
        try:
            key = jwks_client(url).get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token, key, algorithms=["RS256"], issuer=settings.JWT_ISSUER or None,
                options={"verify_aud": False, "require": ["exp"]},
            )
        except jwt.PyJWKClientError as error:
            raise exceptions.AuthenticationFailed(f"The token's signing key is unknown: {error}")
        except jwt.PyJWTError as error:
            raise exceptions.AuthenticationFailed(f"Invalid token: {error}")
        audience = settings.JWT_AUDIENCE
        if audience:
            got = claims.get("aud") or claims.get("client_id")
            got = got if isinstance(got, list) else [got]
            if audience not in got:
                raise exceptions.AuthenticationFailed("Invalid token: wrong audience.")
        return claims

    @staticmethod
    def _user(claims: dict):
        name = claims.get(settings.JWT_USER_CLAIM)
        if not isinstance(name, str) or not name:
            raise exceptions.AuthenticationFailed(f"The token has no {settings.JWT_USER_CLAIM} claim.")
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise exceptions.AuthenticationFailed("No active user matches the token.")
        return user


class JWKSAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = JWKSAuthentication
    name = "externalJwt"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
