"""Events and webhooks through the API: events written by the real services, listed, filtered and paged;
endpoints written through `allocation.webhooks`, their secret shown only on create and rotate; deliveries
listed and sent again."""
from datetime import date, timedelta

import pytest
from django.utils import timezone

from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, EventType, WebhookEndpoint
from allocation.services import allocation_release, allocation_run
from allocation.webhooks import webhook_create
from tests.api_support import *  # noqa: F403  (the API fixtures)
from tests.api_support import API, client_for, user_in
from tests.factories import order_with_lines

AS_OF = date(2026, 1, 25)
HOOK = "https://hooks.example.com/inventory"


@pytest.fixture
def history(widget_example, clock):
    """Day 26: a run allocates O1 and O2 and leaves O3 short; day 28: O2 is released. Returns the run."""
    o3 = order_with_lines("O3", date(2026, 1, 20), (widget_example["item"], 300))
    orders = widget_example["orders"]
    clock(date(2026, 1, 26))
    run = allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"], o3], as_of=AS_OF).run
    clock(date(2026, 1, 28))
    allocation_release(order=orders["O2"].pk)
    return {**widget_example, "run": run, "o3": o3}


def fail(delivery: Delivery, attempts: int = 1) -> Delivery:
    """Record `attempts` failed attempts of a delivery and mark it failed, as the dispatcher leaves it."""
    start = timezone.now() - timedelta(hours=attempts)
    DeliveryAttempt.objects.bulk_create([
        DeliveryAttempt(delivery=delivery, attempted_at=start + timedelta(hours=n), response_status=500,
                        error=f"HTTP 500 (try {n + 1})") for n in range(attempts)])
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=attempts, next_attempt_at=None,
                                                   last_response_status=500, last_error="HTTP 500")
    return Delivery.objects.get(pk=delivery.pk)


# --- events ---------------------------------------------------------------------------------------

def test_the_events_of_a_run_and_a_release_are_listed_newest_first_with_their_data(history, viewer):
    # when
    response = viewer.get(f"{API}events/")
    # then
    assert response.status_code == 200
    body = response.json()
    kinds = [(e["type"], e["data"]["order"]["number"]) for e in body["results"]]
    assert kinds == [("allocation.released", "O2"), ("order.short", "O3"), ("allocation.allocated", "O3"),
                     ("allocation.allocated", "O2"), ("allocation.allocated", "O1")]
    ids = [int(e["id"].removeprefix("evt_")) for e in body["results"]]
    assert ids == sorted(ids, reverse=True) and all(e["id"].startswith("evt_") for e in body["results"])
    o1 = body["results"][-1]
    assert (o1["order"], o1["run"], o1["sequence"], o1["lot"]) == (history["orders"]["O1"].pk, history["run"].pk, 1, None)
    assert [(p["lot_reference"], p["quantity"]) for p in o1["data"]["picks"]] == [("L1", 100), ("L2", 20)]
    assert body["count"] == 5


@pytest.mark.parametrize(("query", "expected"), [
    ({"type": "allocation.allocated"}, ["O3", "O2", "O1"]),
    ({"type": "order.short"}, ["O3"]),
    ({"occurred_before": "2026-01-26"}, ["O3", "O3", "O2", "O1"]),
    ({"occurred_after": "2026-01-27"}, ["O2"]),
    ({"occurred_after": "2026-01-28", "occurred_before": "2026-01-28"}, ["O2"]),
    ({"occurred_after": "2026-01-29"}, []),
])
def test_events_filter_by_type_and_by_inclusive_days(history, viewer, query, expected):
    response = viewer.get(f"{API}events/", query)
    assert response.status_code == 200
    assert [e["data"]["order"]["number"] for e in response.json()["results"]] == expected


def test_events_filter_by_order_and_by_run(history, viewer):
    by_order = viewer.get(f"{API}events/", {"order": history["orders"]["O2"].pk}).json()["results"]
    by_run = viewer.get(f"{API}events/", {"run": history["run"].pk}).json()["results"]
    assert [(e["type"], e["sequence"]) for e in by_order] == [("allocation.released", 2), ("allocation.allocated", 1)]
    assert [e["type"] for e in by_run] == ["order.short", "allocation.allocated", "allocation.allocated",
                                           "allocation.allocated"]


def test_an_event_is_read_by_its_public_id_or_its_number(history, viewer):
    event = Event.objects.filter(type=EventType.SHORT).get()
    by_public_id = viewer.get(f"{API}events/evt_{event.pk}/")
    by_number = viewer.get(f"{API}events/{event.pk}")
    assert (by_public_id.status_code, by_number.status_code) == (200, 200)
    assert by_public_id.json() == by_number.json()
    assert by_public_id.json()["data"]["shortfalls"][0]["short"] > 0
    assert viewer.get(f"{API}events/evt_{event.pk + 100}/").status_code == 404


@pytest.mark.parametrize(("query", "named"), [
    ({"colour": "blue"}, "colour"), ({"type": "order.lost"}, "type"), ({"order": "O1"}, "order"),
    ({"occurred_after": "26/01/2026"}, "occurred"),  # a date range is named as a whole, as in every list
])
def test_an_unknown_or_wrong_event_filter_is_a_400_naming_it(history, viewer, query, named):
    response = viewer.get(f"{API}events/", query)
    assert (response.status_code, list(response.json())) == (400, [named])


def test_a_page_of_events_stops_before_its_data_passes_the_budget(history, viewer, settings):
    # given: a budget a single event of picks already fills
    settings.API_MAX_NESTED_ROWS = 2
    # when
    first = viewer.get(f"{API}events/", {"type": "allocation.allocated", "page_size": 10}).json()
    second = viewer.get(first["next"]).json()
    # then: each page holds one event, and `next` goes on right after it
    assert (first["count"], len(first["results"]), len(second["results"])) == (3, 1, 1)
    assert "offset=1" in first["next"] and second["results"][0]["id"] != first["results"][0]["id"]


def test_a_list_of_events_runs_the_same_queries_whatever_its_length(history, viewer, django_assert_max_num_queries):
    with django_assert_max_num_queries(12) as few:
        assert viewer.get(f"{API}events/").status_code == 200
    for n in range(20):  # twenty more events, each from a run of its own
        order = order_with_lines(f"X{n}", date(2026, 1, 20), (history["item"], 1))
        allocation_run(method="FIFO", orders=[order], as_of=AS_OF)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(viewer.get(f"{API}events/").json()["results"]) == 25


def test_a_viewer_reads_events_and_a_user_in_no_group_is_refused(history, viewer):
    nobody = client_for(user_in(None))
    assert viewer.get(f"{API}events/").status_code == 200
    assert nobody.get(f"{API}events/").status_code == 403


# --- webhook endpoints ------------------------------------------------------------------------------

def test_creating_an_endpoint_answers_its_secret_once_and_never_again(webhook_manager):
    # when
    created = webhook_manager.post(f"{API}webhooks/", {"url": HOOK, "events": ["order.short", "allocation.allocated"],
                                                       "description": "ERP"}, format="json")
    # then
    assert created.status_code == 201, created.json()
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and WebhookEndpoint.objects.get().secret == secret
    assert (body["url"], body["events"], body["active"]) == (HOOK, ["allocation.allocated", "order.short"], True)
    path = f"{API}webhooks/{body['id']}/"
    shown = [webhook_manager.get(path), webhook_manager.get(f"{API}webhooks/"),
             webhook_manager.patch(path, {"description": "ERP (prod)"}, format="json")]
    assert [r.status_code for r in shown] == [200, 200, 200]
    assert all(secret not in r.content.decode() and "secret" not in r.json() for r in shown)
    assert WebhookEndpoint.objects.get().created_by.username == "webhook-manager"


def test_what_get_shows_of_an_endpoint_can_be_put_back_and_changes_nothing(webhook_manager):
    endpoint = webhook_create(url=HOOK, events=["order.short"])
    path = f"{API}webhooks/{endpoint.pk}/"
    shown = webhook_manager.get(path).json()
    response = webhook_manager.put(path, shown, format="json")
    assert (response.status_code, response.json()) == (200, shown)


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": HOOK, "events": ["order.lost"]}, "events"),
    ({"url": HOOK, "events": "order.short"}, "events"),
    ({"url": HOOK, "active": "yes"}, "active"),
    ({"url": HOOK, "secret": "whsec_mine"}, "secret"),
])
def test_a_wrong_endpoint_is_a_400_naming_the_field_and_creates_nothing(webhook_manager, body, field):
    response = webhook_manager.post(f"{API}webhooks/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_on_a_private_address_is_refused_unless_allowed(webhook_manager, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = webhook_manager.post(f"{API}webhooks/", {"url": "http://127.0.0.1:8080/hook"}, format="json")
    assert response.status_code == 400 and "private address" in response.json()["url"][0]


def test_rotating_answers_the_new_secret_and_keeps_the_old_one_signing_for_a_while(webhook_manager):
    # given
    endpoint = webhook_create(url=HOOK)
    old = endpoint.secret
    # when
    response = webhook_manager.post(f"{API}webhooks/{endpoint.pk}/rotate/")
    # then
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old and endpoint.previous_secret == old
    assert response.json()["previous_secret_expires_at"] is not None
    assert "secret" not in webhook_manager.get(f"{API}webhooks/{endpoint.pk}/").json()


def test_deleting_an_endpoint_deletes_its_deliveries_and_keeps_the_events(history, webhook_manager):
    endpoint = webhook_create(url=HOOK)
    allocation_run(method="FIFO", orders=[history["o3"]], as_of=AS_OF)
    assert Delivery.objects.filter(endpoint=endpoint).exists()
    events = Event.objects.count()
    assert webhook_manager.delete(f"{API}webhooks/{endpoint.pk}/").status_code == 204
    assert (WebhookEndpoint.objects.count(), Delivery.objects.count(), Event.objects.count()) == (0, 0, events)


@pytest.mark.parametrize("client", ["viewer", "allocator"])
def test_only_users_granted_the_webhook_permissions_see_or_change_endpoints(widget_example, request, client):
    endpoint = webhook_create(url=HOOK)
    api = request.getfixturevalue(client)
    answers = [api.get(f"{API}webhooks/"), api.post(f"{API}webhooks/", {"url": HOOK}, format="json"),
               api.post(f"{API}webhooks/{endpoint.pk}/rotate/"), api.get(f"{API}webhooks/{endpoint.pk}/deliveries/"),
               api.post(f"{API}webhooks/{endpoint.pk}/redeliver/", {"failed": True}, format="json")]
    assert [a.status_code for a in answers] == [403] * 5
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


# --- deliveries ---------------------------------------------------------------------------------------

@pytest.fixture
def delivered(widget_example):
    """An endpoint for every type, then a run of O1 and O2: two pending deliveries; O1's then failed 7 times."""
    endpoint = webhook_create(url=HOOK)
    orders = widget_example["orders"]
    allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"]], as_of=AS_OF)
    o1, o2 = (Delivery.objects.get(event__order_id=orders[n].pk) for n in ("O1", "O2"))
    return {"endpoint": endpoint, "o1": fail(o1, attempts=7), "o2": o2}


def test_an_endpoints_deliveries_show_their_event_status_and_last_attempts(delivered, webhook_manager):
    # when
    response = webhook_manager.get(f"{API}webhooks/{delivered['endpoint'].pk}/deliveries/")
    # then
    assert response.status_code == 200
    o2, o1 = response.json()["results"]
    assert (o1["event"]["id"], o1["event"]["type"]) == (f"evt_{delivered['o1'].event_id}", "allocation.allocated")
    assert (o1["status"], o1["attempts"], o1["last_response_status"], o1["last_error"]) == ("failed", 7, 500, "HTTP 500")
    assert [a["error"] for a in o1["recent_attempts"]] == [f"HTTP 500 (try {n})" for n in (7, 6, 5, 4, 3)]
    assert (o2["status"], o2["recent_attempts"], o2["next_attempt_at"] is not None) == ("pending", [], True)


def test_deliveries_filter_by_status_and_refuse_an_unknown_parameter(delivered, webhook_manager):
    path = f"{API}webhooks/{delivered['endpoint'].pk}/deliveries/"
    failed = webhook_manager.get(path, {"status": "failed"}).json()
    assert [d["id"] for d in failed["results"]] == [delivered["o1"].pk]
    assert webhook_manager.get(path, {"event": 1}).status_code == 400
    assert webhook_manager.get(f"{API}webhooks/{delivered['endpoint'].pk + 1}/deliveries/").status_code == 404


def test_a_list_of_deliveries_runs_the_same_queries_whatever_its_length(delivered, webhook_manager,
                                                                        django_assert_max_num_queries):
    path = f"{API}webhooks/{delivered['endpoint'].pk}/deliveries/"
    with django_assert_max_num_queries(12) as few:
        assert webhook_manager.get(path).status_code == 200
    for n in range(15):
        order = order_with_lines(f"X{n}", date(2026, 1, 20), (delivered["o1"].event.order.lines.get().item, 1))
        allocation_run(method="FIFO", orders=[order], as_of=AS_OF)
    for delivery in Delivery.objects.filter(status=DeliveryStatus.PENDING):
        fail(delivery, attempts=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(webhook_manager.get(path).json()["results"]) == 17


def test_sending_a_pending_delivery_again_is_a_409_and_changes_nothing(delivered, webhook_manager):
    before = list(Delivery.objects.order_by("id").values())
    response = webhook_manager.post(f"{API}webhooks/{delivered['endpoint'].pk}/redeliver/",
                                    {"deliveries": [delivered["o1"].pk, delivered["o2"].pk]}, format="json")
    assert response.status_code == 409 and response.json()["deliveries"] == [delivered["o2"].pk]
    assert list(Delivery.objects.order_by("id").values()) == before


def test_sending_a_failed_delivery_again_queues_it_from_the_first_attempt(delivered, webhook_manager):
    response = webhook_manager.post(f"{API}webhooks/{delivered['endpoint'].pk}/redeliver/",
                                    {"deliveries": [delivered["o1"].pk]}, format="json")
    assert (response.status_code, response.json()) == (202, {"requeued": 1})
    o1 = Delivery.objects.get(pk=delivered["o1"].pk)
    assert (o1.status, o1.attempts, o1.attempt_rows.count()) == ("pending", 0, 7)


def test_sending_every_failed_delivery_again_says_how_many_and_200_when_none(delivered, webhook_manager):
    path = f"{API}webhooks/{delivered['endpoint'].pk}/redeliver/"
    first = webhook_manager.post(path, {"failed": True}, format="json")
    second = webhook_manager.post(path, {"failed": True}, format="json")
    assert [(r.status_code, r.json()) for r in (first, second)] == [(202, {"requeued": 1}), (200, {"requeued": 0})]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


@pytest.mark.parametrize("body", [{}, {"failed": False}, {"failed": True, "deliveries": [1]}, {"deliveries": []},
                                  {"deliveries": ["1"]}, {"deliveries": [999_999]}])
def test_a_redeliver_request_that_names_nothing_clearly_is_a_400(delivered, webhook_manager, body):
    before = list(Delivery.objects.order_by("id").values())
    response = webhook_manager.post(f"{API}webhooks/{delivered['endpoint'].pk}/redeliver/", body, format="json")
    assert response.status_code == 400 and {"deliveries", "failed"} & set(response.json()), response.json()
    assert list(Delivery.objects.order_by("id").values()) == before


def test_a_delivery_of_another_endpoint_cannot_be_sent_again_through_this_one(delivered, webhook_manager):
    other = webhook_create(url="https://other.example.com/hook")
    response = webhook_manager.post(f"{API}webhooks/{other.pk}/redeliver/", {"deliveries": [delivered["o1"].pk]},
                                    format="json")
    assert response.status_code == 400 and "of this endpoint" in response.json()["deliveries"][0]
    assert Delivery.objects.get(pk=delivered["o1"].pk).status == "failed"
