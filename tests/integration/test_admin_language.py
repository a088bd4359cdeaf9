"""The back office speaks the browser's language: English by default, Japanese when asked."""
from allocation.models import Method

CHANGELIST = "/admin/orders/order/"


def action_page(client, order, language: str | None = None):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return client.post(CHANGELIST, {"action": "allocate_orders", "index": 0, "_selected_action": [order.pk]}, **headers)


def test_with_accept_language_ja_the_action_page_shows_the_japanese_method_names(admin_client, widget_example):
    page = action_page(admin_client, widget_example["orders"]["O1"], "ja").content.decode()

    assert "先入先出法" in page and "後入先出法" in page and "総平均法" in page and "移動平均法" in page
    assert "最終仕入原価法" in page and "個別法" in page and "平均法" in page and "先入先出（期限順）" in page
    assert "選択した受注を引当" in page and "プレビュー" in page
    assert 'lang="ja"' in page


def test_without_accept_language_the_action_page_is_in_english(admin_client, widget_example):
    page = action_page(admin_client, widget_example["orders"]["O1"]).content.decode()

    assert "First in, first out (FIFO)" in page and "先入先出法" not in page
    assert 'lang="en"' in page


def test_every_method_label_has_a_japanese_translation(db):
    from django.utils import translation

    with translation.override("ja"):
        labels = {str(label) for label in Method.labels}
    with translation.override("en"):
        english = {str(label) for label in Method.labels}
    assert not labels & english, labels & english


def test_the_dashboard_and_the_models_speak_japanese(admin_client, widget_example):
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert "品目別の引当済と引当可能（在庫）" in page and "最近の引当実行" in page
    assert "引当結果" in page and "ロット" in page  # the models' verbose names in the app list


def test_a_run_page_says_why_an_order_was_left_short_in_the_pages_language(admin_client, widget_example):
    # given: O1 and O2 (180) plus O3 asking 1,000 more than the 250 in stock, inbound not allowed
    from datetime import date

    from allocation.services import allocation_run
    from tests.factories import order_with_lines

    order_with_lines("O3", date(2026, 1, 14), (widget_example["item"], 1000))
    run = allocation_run(method="FIFO", as_of=date(2026, 1, 25), allow_inbound=False).run
    url = f"/admin/allocation/allocationrun/{run.pk}/change/?short=1"
    # then: the stored reason is English in the run, and each page says it in its language
    outcome = run.outcome_rows.get(order__order_number="O3")
    assert (outcome.reason, [s["reason"] for s in outcome.shortfalls]) == ("not enough stock", ["not enough stock"])
    english = admin_client.get(url).content.decode()
    japanese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert english.count("(not enough stock)") == 2 and "在庫不足" not in english  # the outcome and its line
    assert japanese.count("(在庫不足)") == 2 and "not enough stock" not in japanese
