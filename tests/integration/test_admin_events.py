"""The back office's pages of events, webhook endpoints and deliveries: events and deliveries read only,
endpoints written through `allocation.webhooks`, the secret shown once, rotate, redeliver, the disabled banner."""
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from allocation.models import Delivery, DeliveryAttempt, DeliveryStatus, Event, EventType, WebhookEndpoint
from allocation.services import allocation_run
from allocation.webhooks import webhook_create
from tests.factories import order_with_lines

AS_OF = date(2026, 1, 25)
HOOK = "https://hooks.example.com/inventory"
ENDPOINTS = "/admin/allocation/webhookendpoint/"
DELIVERIES = "/admin/allocation/delivery/"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def fail(delivery: Delivery, attempts: int = 1) -> Delivery:
    """Record `attempts` failed attempts of a delivery and mark it failed, as the dispatcher leaves it."""
    start = timezone.now() - timedelta(hours=attempts)
    DeliveryAttempt.objects.bulk_create([
        DeliveryAttempt(delivery=delivery, attempted_at=start + timedelta(hours=n), response_status=503,
                        error=f"HTTP 503 (try {n + 1})") for n in range(attempts)])
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=attempts, next_attempt_at=None,
                                                   last_response_status=503, last_error="HTTP 503")
    return Delivery.objects.get(pk=delivery.pk)


@pytest.fixture
def delivered(widget_example):
    """An endpoint for every type, then a run of O1 and O2: O1's delivery failed, O2's is pending."""
    endpoint = webhook_create(url=HOOK, description="ERP")
    orders = widget_example["orders"]
    allocation_run(method="FIFO", orders=[orders["O1"], orders["O2"]], as_of=AS_OF)
    o1, o2 = (Delivery.objects.get(event__order_id=orders[n].pk) for n in ("O1", "O2"))
    return {**widget_example, "endpoint": endpoint, "o1": fail(o1, attempts=3), "o2": o2}


def staff_with(*codenames: str) -> User:
    user = User.objects.create_user("staff", password="s3cret-pass-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="allocation", codename__in=codenames))
    return user


# --- events --------------------------------------------------------------------------------------------

def test_the_event_list_shows_each_event_and_filters_by_type(admin_client, delivered):
    # given: the run wrote one allocation.allocated event per order
    o1_event = Event.objects.get(order=delivered["orders"]["O1"])
    # when
    everything = admin_client.get("/admin/allocation/event/")
    allocated = admin_client.get("/admin/allocation/event/", {"type__exact": EventType.ALLOCATED})
    short = admin_client.get("/admin/allocation/event/", {"type__exact": EventType.SHORT})
    # then
    assert everything.status_code == 200
    assert f"evt_{o1_event.pk}" in everything.content.decode() and ">O1</a>" in everything.content.decode()
    assert [e.pk for e in allocated.context["cl"].result_list] == list(
        Event.objects.order_by("-id").values_list("id", flat=True))
    assert list(short.context["cl"].result_list) == []


@pytest.mark.parametrize(("term", "orders"), [("O1", ["O1"]), ("O", ["O2", "O1"]), ("evt_{o2}", ["O2"]), ("Z", [])])
def test_events_are_searched_by_order_number_or_public_id(admin_client, delivered, term, orders):
    o2_event = Event.objects.get(order=delivered["orders"]["O2"])
    response = admin_client.get("/admin/allocation/event/", {"q": term.format(o2=o2_event.pk)})
    assert [e.order.order_number for e in response.context["cl"].result_list] == orders


def test_an_events_page_shows_its_data_pretty_printed_and_where_it_went(admin_client, delivered):
    event = Event.objects.get(order=delivered["orders"]["O1"])
    page = admin_client.get(f"/admin/allocation/event/{event.pk}/change/").content.decode()
    assert '<pre class="event-data">{\n  &quot;order&quot;: {\n    &quot;id&quot;:' in page
    assert "&quot;lot_reference&quot;: &quot;L1&quot;" in page
    assert f"/admin/allocation/delivery/{delivered['o1'].pk}/change/" in page and "Failed (3 attempts)" in page
    assert 'name="_save"' not in page


def test_events_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, delivered):
    event = Event.objects.first()
    before = list(Event.objects.values_list())
    answers = [admin_client.post("/admin/allocation/event/add/", {}),
               admin_client.post(f"/admin/allocation/event/{event.pk}/change/", {"type": "order.short"}),
               admin_client.post(f"/admin/allocation/event/{event.pk}/delete/", {"post": "yes"})]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert list(Event.objects.values_list()) == before


def test_a_viewer_sees_events_but_not_webhooks(client, delivered):
    # given: a staff user holding only view_event, as the viewer group does
    client.force_login(staff_with("view_event"))
    # when / then
    assert client.get("/admin/allocation/event/").status_code == 200
    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403


# --- webhook endpoints ----------------------------------------------------------------------------------

def test_creating_an_endpoint_shows_its_secret_once_and_never_on_its_page(admin_client, admin_user):
    # when
    response = admin_client.post(f"{ENDPOINTS}add/", {"url": HOOK, "description": "ERP", "events": ["order.short"],
                                                       "active": "on"}, follow=True)
    # then
    endpoint = WebhookEndpoint.objects.get()
    shown = [m for m in messages_of(response) if endpoint.secret in m]
    assert len(shown) == 1 and "Copy it now: it is not shown again." in shown[0]
    assert (endpoint.events, endpoint.created_by) == (["order.short"], admin_user)
    for page in (f"{ENDPOINTS}{endpoint.pk}/change/", ENDPOINTS):
        assert endpoint.secret not in admin_client.get(page).content.decode()


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "http://127.0.0.1:9/hook"])
def test_a_url_the_service_refuses_is_an_error_on_the_field(admin_client, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = admin_client.post(f"{ENDPOINTS}add/", {"url": url, "description": "", "active": "on"})
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


def test_the_rotate_button_posts_and_shows_the_new_secret_once(admin_client):
    # given
    endpoint = webhook_create(url=HOOK)
    old = endpoint.secret
    page = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert f'action="{ENDPOINTS}{endpoint.pk}/rotate/"' in page and "csrfmiddlewaretoken" in page
    # when
    asked = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/rotate/")
    rotated = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/rotate/", follow=True)
    # then: a GET changes nothing, the POST shows the new secret once, on the page that follows
    endpoint.refresh_from_db()
    assert asked.status_code == 302 and endpoint.previous_secret == old != endpoint.secret
    assert [m for m in messages_of(rotated) if endpoint.secret in m] != []
    assert endpoint.secret not in admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()


def test_rotating_needs_the_right_to_change_endpoints(client, db):
    endpoint = webhook_create(url=HOOK)
    client.force_login(staff_with("view_webhookendpoint"))
    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/")
    response = client.post(f"{ENDPOINTS}{endpoint.pk}/rotate/")
    assert page.status_code == 200 and "rotate-form" not in page.content.decode()
    assert response.status_code == 403
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_a_disabled_endpoint_says_why_and_how_to_turn_it_back_on(admin_client):
    # given: the dispatcher disabled one endpoint; another is simply active
    disabled, fine = webhook_create(url=HOOK), webhook_create(url="https://other.example.com/hook")
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(
        active=False, disabled_reason="Every attempt failed for 24 hours (last: HTTP 503).",
        failing_since=timezone.now() - timedelta(days=1))
    # when
    page = admin_client.get(f"{ENDPOINTS}{disabled.pk}/change/").content.decode()
    other = admin_client.get(f"{ENDPOINTS}{fine.pk}/change/").content.decode()
    # then
    assert 'id="disabled-notice"' in page and "Every attempt failed for 24 hours (last: HTTP 503)." in page
    assert "tick “Active” and save" in page
    assert 'id="disabled-notice"' not in other


def test_ticking_active_again_re_enables_through_the_service_and_forgets_the_failures(admin_client):
    endpoint = webhook_create(url=HOOK)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason="HTTP 503 for a day",
                                                          failing_since=timezone.now())
    response = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/change/", {"url": HOOK, "description": "", "active": "on"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason, endpoint.failing_since) == (True, "", None)


def test_an_endpoints_page_links_to_its_deliveries_with_counts_by_status(admin_client, delivered):
    endpoint = delivered["endpoint"]
    page = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    link = f"{DELIVERIES}?endpoint__id__exact={endpoint.pk}"
    assert f'<a href="{link}" id="endpoint-deliveries">All deliveries</a> (2)' in page
    assert f'<a href="{link}&amp;status__exact=pending">Pending: 1</a>' in page
    assert f'<a href="{link}&amp;status__exact=failed">Failed: 1</a>' in page
    listed = admin_client.get(DELIVERIES, {"endpoint__id__exact": endpoint.pk, "status__exact": "failed"})
    assert list(listed.context["cl"].result_list) == [delivered["o1"]]


def test_send_failed_deliveries_again_requeues_them_and_says_how_many(admin_client, delivered):
    # when
    first = admin_client.post(ENDPOINTS, {"action": "redeliver_failed", "_selected_action": [delivered["endpoint"].pk]},
                              follow=True)
    again = admin_client.post(ENDPOINTS, {"action": "redeliver_failed", "_selected_action": [delivered["endpoint"].pk]},
                              follow=True)
    # then
    assert "1 failed delivery will be sent again." in messages_of(first)
    assert "The selected endpoints have no failed deliveries; nothing was sent again." in messages_of(again)
    o1 = Delivery.objects.get(pk=delivered["o1"].pk)
    assert (o1.status, o1.attempts) == ("pending", 0)


def test_deleting_an_endpoint_counts_what_goes_with_it_and_keeps_the_events(admin_client, delivered):
    endpoint = delivered["endpoint"]
    events = Event.objects.count()
    confirm = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/delete/")
    assert confirm.status_code == 200
    assert dict(confirm.context["model_count"]) == {"webhook endpoints": 1, "deliveries": 2, "delivery attempts": 3}
    assert admin_client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"}).status_code == 302
    assert (WebhookEndpoint.objects.count(), Delivery.objects.count(), Event.objects.count()) == (0, 0, events)


# --- deliveries ------------------------------------------------------------------------------------------

def test_the_delivery_list_shows_event_endpoint_status_and_filters_by_status(admin_client, delivered):
    response = admin_client.get(DELIVERIES, {"status__exact": "pending"})
    page = response.content.decode()
    assert list(response.context["cl"].result_list) == [delivered["o2"]]
    assert f"evt_{delivered['o2'].event_id} allocation.allocated" in page and HOOK in page


def test_send_again_refuses_a_pending_delivery_in_words_and_changes_nothing(admin_client, delivered):
    before = list(Delivery.objects.order_by("id").values())
    response = admin_client.post(DELIVERIES, {"action": "redeliver_deliveries", "_selected_action": [
        delivered["o1"].pk, delivered["o2"].pk]}, follow=True)
    assert any(f"Delivery {delivered['o2'].pk} is still pending" in m for m in messages_of(response))
    assert list(Delivery.objects.order_by("id").values()) == before


def test_send_again_requeues_a_failed_delivery(admin_client, delivered):
    response = admin_client.post(DELIVERIES, {"action": "redeliver_deliveries",
                                              "_selected_action": [delivered["o1"].pk]}, follow=True)
    assert "1 delivery will be sent again." in messages_of(response)
    assert Delivery.objects.get(pk=delivered["o1"].pk).status == "pending"


def test_a_deliverys_page_shows_its_last_twenty_attempts_read_only(admin_client, delivered):
    delivery = fail(delivered["o2"], attempts=25)
    response = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")
    page = response.content.decode()
    assert page.count("HTTP 503 (try ") == 20
    assert "HTTP 503 (try 25)" in page and "HTTP 503 (try 5)" not in page
    assert "The last 20 attempts are shown." in page and 'name="_save"' not in page
    assert admin_client.post(f"{DELIVERIES}{delivery.pk}/change/", {}).status_code == 403


def test_whoever_may_view_endpoints_sees_deliveries_but_send_again_needs_change(client, delivered):
    client.force_login(staff_with("view_webhookendpoint"))
    response = client.get(DELIVERIES)
    assert response.status_code == 200 and "redeliver_deliveries" not in response.content.decode()
    client.post(DELIVERIES, {"action": "redeliver_deliveries", "_selected_action": [delivered["o1"].pk]})
    assert Delivery.objects.get(pk=delivered["o1"].pk).status == "failed"


@pytest.mark.parametrize("url", ["/admin/allocation/event/", DELIVERIES, ENDPOINTS])
def test_the_lists_run_a_fixed_number_of_queries(admin_client, delivered, django_assert_max_num_queries, url):
    with django_assert_max_num_queries(30) as few:
        assert admin_client.get(url).status_code == 200
    webhook_create(url="https://other.example.com/hook")
    for n in range(12):
        order = order_with_lines(f"X{n}", date(2026, 1, 20), (delivered["item"], 1))
        allocation_run(method="FIFO", orders=[order], as_of=AS_OF)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get(url).status_code == 200
