"""The REST API's routes, under /api/v1/ (see the README's REST API section).

Every route answers with and without its trailing slash, for every method, with no
redirect: a POST to `orders` creates an order exactly as a POST to `orders/` does
(a redirect would make clients re-send it as a GET and lose it).
"""
from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.routers import APIRootView, DefaultRouter

from allocation.api_events import DeliveryViewSet, EventViewSet, WebhookViewSet
from allocation.api_orders import CustomerViewSet, OrderViewSet
from allocation.views import (
    AllocateView,
    AllocationResultViewSet,
    AllocationRunViewSet,
    CompareView,
    PeriodCloseView,
    RunOutcomeViewSet,
)
from inventory_alloc.strict import StrictQueryParamsMixin
from inventory_alloc.tokens import LoginView, RefreshView, VerifyView
from orders.views import PaymentViewSet
from stock.views import InventoryViewSet, ItemViewSet, LotViewSet


class ApiRootView(StrictQueryParamsMixin, APIRootView):
    """The list of the API's collections (any signed-in user may read it)."""

    permission_classes = [IsAuthenticated]


class PageView:
    """The HTML documentation pages answer GET and HEAD only (OPTIONS has no page to render)."""

    http_method_names = ["get", "head"]


class SwaggerView(PageView, SpectacularSwaggerView):
    pass


class RedocView(PageView, SpectacularRedocView):
    pass


def with_slashless_twins(patterns: list) -> list:
    """Return `patterns`, each route ending in a slash followed by an unnamed twin without it.

    The named pattern keeps the slash, so links the API builds (`next`, `url`) keep it too;
    the twin only accepts requests. The OpenAPI schema lists the named routes only.
    """
    routes = []
    for pattern in patterns:
        routes.append(pattern)
        regex = pattern.pattern.regex.pattern
        if regex.endswith("/$"):
            routes.append(re_path(regex[:-2] + "$", pattern.callback, kwargs=pattern.default_args))
    return routes


router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("items", ItemViewSet, basename="item")
router.register("lots", LotViewSet, basename="lot")
router.register("inventories", InventoryViewSet, basename="inventory")
router.register("customers", CustomerViewSet, basename="customer")
router.register("payments", PaymentViewSet, basename="payment")
router.register("orders", OrderViewSet, basename="order")
router.register("allocation-results", AllocationResultViewSet, basename="allocationresult")
router.register("allocation-runs", AllocationRunViewSet, basename="allocationrun")
router.register(r"allocation-runs/(?P<run_pk>[0-9]+)/outcomes", RunOutcomeViewSet, basename="allocationrun-outcome")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register(r"webhooks/(?P<webhook_pk>[0-9]+)/deliveries", DeliveryViewSet, basename="webhook-delivery")


urlpatterns = with_slashless_twins([
    re_path(r"^token/$", LoginView.as_view(), name="token_obtain_pair"),
    re_path(r"^token/refresh/$", RefreshView.as_view(), name="token_refresh"),
    re_path(r"^token/verify/$", VerifyView.as_view(), name="token_verify"),
    re_path(r"^schema/$", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    re_path(r"^docs/$", SwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="docs"),
    re_path(r"^redoc/$", RedocView.as_view(url_name="schema", permission_classes=[AllowAny]), name="redoc"),
    re_path(r"^allocate/$", AllocateView.as_view(), name="allocate"),
    re_path(r"^allocate/compare/$", CompareView.as_view(), name="allocate-compare"),
    re_path(r"^periods/(?P<period>[0-9]{4}(?:-[0-9]{1,2})?)/close/$", PeriodCloseView.as_view(), name="period-close"),
    *router.urls,
])
