"""API shapes of events, webhook endpoints and their deliveries (served by `allocation.api_events`).

An endpoint's signing secret is a field of one shape only, `WebhookEndpointSecretSerializer`, which
answers the request that made the secret (create, rotate) and nothing else.
"""
from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from allocation.models import Delivery, DeliveryAttempt, Event, EventType, WebhookEndpoint
from inventory_alloc.strict import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictModelSerializer,
    StrictSerializer,
)

REDELIVER_MAX = 1000  # deliveries named in one redeliver request
ATTEMPTS_SHOWN = 5  # a delivery's last attempts in a list of deliveries


class EventSerializer(serializers.ModelSerializer):
    """One event as receivers get it: its public id, type, when, what it is about, and its data."""

    id = serializers.CharField(source="public_id", read_only=True,
                               help_text="The event's id as receivers see it (`webhook-id`): `evt_<n>`.")
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    run = serializers.IntegerField(source="run_id", read_only=True, allow_null=True)
    lot = serializers.IntegerField(source="lot_id", read_only=True, allow_null=True)
    data = serializers.SerializerMethodField(help_text="The event's data, as every delivery sends it.")

    class Meta:
        model = Event
        fields = ["id", "type", "occurred_at", "order", "sequence", "run", "lot", "data"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_data(self, event: Event) -> dict:
        return json.loads(event.data)


class StrictURLField(StrictCharField, serializers.URLField):
    pass


class WebhookEndpointSerializer(StrictModelSerializer):
    """A URL that is sent the events it subscribes to, signed (Standard Webhooks); its secret is never shown here."""

    url = StrictURLField(max_length=500, help_text="Where events are POSTed: https://… (a public address).")
    events = serializers.ListField(
        child=StrictChoiceField(choices=EventType.choices), required=False, max_length=100,
        help_text="The event types it receives; empty (the default): every type.")
    # No default: on a PATCH DRF leaves out a field whose default it would use (an endpoint no user created).
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="After a rotation, until when the previous secret still signs too.")
    disabled_reason = serializers.CharField(
        read_only=True, help_text="Why the dispatcher disabled it (empty if it did not); set `active` true to re-enable.")
    failing_since = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Since when every attempt has failed (null: the last one succeeded).")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "description", "disabled_reason", "failing_since",
                  "previous_secret_expires_at", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    read_only_hints = {
        "disabled_reason": "Read only: the dispatcher sets it when it disables the endpoint; send `active: true` to "
                           "re-enable it (which clears it).",
        "failing_since": "Read only: the dispatcher keeps it; a successful attempt clears it.",
    }


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """An endpoint with its new signing secret: the answer to create and rotate, the only one that shows it."""

    secret = serializers.CharField(read_only=True, help_text=(
        "The signing secret (`whsec_…`, Standard Webhooks). Shown only in this answer: store it now."))

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "succeeded", "response_status", "error", "duration_ms"]
        read_only_fields = fields


class DeliveredEventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True, help_text="The event's id: `evt_<n>`.")

    class Meta:
        model = Event
        fields = ["id", "type"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    """One event on its way to the endpoint, with its last attempts (newest first)."""

    event = DeliveredEventSerializer(read_only=True, help_text="The event delivered (its data: GET events/{id}/).")
    recent_attempts = DeliveryAttemptSerializer(many=True, read_only=True, help_text=(
        f"The last {ATTEMPTS_SHOWN} attempts, newest first; `attempts` counts them all "
        "since the delivery was last queued."))

    class Meta:
        model = Delivery
        fields = ["id", "event", "status", "attempts", "next_attempt_at", "last_attempt_at",
                  "last_response_status", "last_error", "created_at", "recent_attempts"]
        read_only_fields = fields


class RedeliverSerializer(StrictSerializer):
    """Which deliveries of the endpoint to send again: some by id, or every failed one."""

    deliveries = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**62), required=False, min_length=1, max_length=REDELIVER_MAX,
        help_text="Ids of the endpoint's deliveries to send again (none may be pending).")
    failed = StrictBooleanField(required=False, help_text="true: send every failed delivery of the endpoint again.")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("deliveries")) == bool(attrs.get("failed")):
            raise serializers.ValidationError({"deliveries": [
                'Send either {"deliveries": [ids]} or {"failed": true}.']})
        if attrs.get("deliveries"):
            attrs["deliveries"] = self._of_the_endpoint(attrs["deliveries"])
        return attrs

    def _of_the_endpoint(self, ids: list[int]) -> list[int]:
        endpoint = self.context["endpoint"]
        found = set(Delivery.objects.filter(endpoint=endpoint, id__in=set(ids)).values_list("id", flat=True))
        if missing := sorted(set(ids) - found):
            raise serializers.ValidationError({"deliveries": [
                f"No delivery {', '.join(map(str, missing[:20]))} of this endpoint."]})
        return sorted(found)


class RequeuedSerializer(serializers.Serializer):
    requeued = serializers.IntegerField(help_text="How many deliveries were queued to be sent again.")
