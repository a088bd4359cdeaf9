"""Hooks of the OpenAPI schema (drf-spectacular PREPROCESSING_HOOKS and POSTPROCESSING_HOOKS)."""
from __future__ import annotations


def named_routes_only(endpoints: list) -> list:
    """Drop the routes without their trailing slash: they are twins that accept the same requests."""
    return [endpoint for endpoint in endpoints if endpoint[0].endswith("/")]


def closed_request_bodies(result: dict, generator, request, public) -> dict:
    """Say in the schema what the API enforces: a request body may hold only the fields listed."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component["additionalProperties"] = False
    return result
