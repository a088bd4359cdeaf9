"""The REST API's routes, under /api/v1/ (see the README's REST API section)."""
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.routers import APIRootView, DefaultRouter
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from allocation.views import AllocateView, AllocationResultViewSet, AllocationRunViewSet, PeriodCloseView
from orders.views import CustomerViewSet, OrderViewSet, PaymentViewSet
from stock.views import InventoryViewSet, ItemViewSet, LotViewSet


class ApiRootView(APIRootView):
    """The list of the API's collections (any signed-in user may read it)."""

    permission_classes = [IsAuthenticated]


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


def _throttled(view):
    """Return a token view limited by the `token` throttle scope (API_TOKEN_THROTTLE, per client IP)."""
    limited = type(view.__name__, (view,), {"throttle_classes": [ScopedRateThrottle], "throttle_scope": "token"})
    return limited.as_view()


urlpatterns = [
    path("token/", _throttled(TokenObtainPairView), name="token_obtain_pair"),
    path("token/refresh/", _throttled(TokenRefreshView), name="token_refresh"),
    path("token/verify/", _throttled(TokenVerifyView), name="token_verify"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema", permission_classes=[AllowAny]), name="redoc"),
    path("allocate/", AllocateView.as_view(), name="allocate"),
    re_path(r"^periods/(?P<period>[0-9]{4}(?:-[0-9]{1,2})?)/close/$", PeriodCloseView.as_view(), name="period-close"),
    *router.urls,
]
