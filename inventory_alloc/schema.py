"""Hooks of the OpenAPI schema (drf-spectacular PREPROCESSING_HOOKS and POSTPROCESSING_HOOKS)."""
from __future__ import annotations


def named_routes_only(endpoints: list) -> list:
    """Drop the routes without their trailing slash: they are twins that accept the same requests."""
    return [endpoint for endpoint in endpoints if endpoint[0].endswith("/")]


def closed_request_bodies(result: dict, generator, request, public) -> dict:
    """Say in the schema what the API enforces: a request body may hold only the fields listed, and a
    decimal is sent as a JSON string ("12.5000") or number (12.5)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component["additionalProperties"] = False
            for field, schema in component["properties"].items():
                if schema.get("format") == "decimal" and schema.get("type") == "string":
                    number = {"type": "number", **{k: v for k, v in schema.items() if k in ("minimum", "maximum")}}
                    text = {k: v for k, v in schema.items() if k not in ("description", "nullable")}
                    component["properties"][field] = {"oneOf": [text, number], **{
                        k: v for k, v in schema.items() if k in ("description", "nullable")}}
    return result


ERROR = {
    "type": "object",
    "description": (
        "An error: `detail` (a sentence) and `code`; a 400 names each wrong field or query parameter "
        "(`{\"<field>\": [\"reason\"]}`), a 409 may add the data of the conflict (`shortfalls`, `orders`, ...)."
    ),
    "additionalProperties": True,
}
PUBLIC = ("/token/", "/schema/", "/docs/", "/redoc/")
WRITES = ("post", "put", "patch", "delete")
ANSWERS = {
    "400": "The request is wrong: a field, a query parameter, or the body (the JSON names what and why).",
    "401": "No credentials, or they are not valid.",
    "403": "Signed in, but without the permission this needs.",
    "404": "No such object (or page).",
    "409": "The request clashes with the current state of the books (the JSON says how).",
    "415": "The body is not JSON.",
    "429": "Too many attempts; try again after Retry-After seconds.",
    "503": "The database did not answer in time; try again after Retry-After seconds.",
}


def documented_errors(result: dict, generator, request, public) -> dict:
    """Document the error answers every operation may give, with one Error schema (400, 401, 403, 404, 409, ...).

    drf-spectacular documents the successful answers each view declares; the errors come from the one
    exception handler (inventory_alloc.exceptions) and DRF itself, for every operation alike.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = ["400", "404", "503"]
            if not any(path.endswith(end) for end in PUBLIC):
                codes += ["401", "403"]
            if method in WRITES:
                codes += ["409"]
            if "requestBody" in operation:
                codes += ["415"]
            if "/token/" in path:
                codes += ["401", "429"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": ANSWERS[code], **error})
    return result
