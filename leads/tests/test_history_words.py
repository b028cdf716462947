"""A lead's history as stored (English, rows of any age) said in the reader's language (leads.history_words)."""

from __future__ import annotations

from django.utils import translation

from leads.history_words import actor_words, reason_words, segment_move_words
from sla.criteria import Condition

STORED = {  # what the services wrote, as older rows hold it → what a Japanese reader sees
    "released to the shared queue": "共有キューに戻した",
    "First contact deadline missed": "「初回接触」の期限超過",
    "Claim deadline missed (escalation)": "「着手」の期限超過（エスカレーション）",
    "merged with lead 42, which was with sales": "営業対応中のリード 42 と統合",
    "customer answered (clocks resumed, deadlines moved by 1 d 3 h)": "顧客が返答（時計を再開、期限を 1 日 3 時間 延長）",
    "customer answered (clocks resumed, deadlines moved by under a minute)": "顧客が返答（時計を再開、期限を 1 分未満 延長）",
    "first contact: meeting": "初回接触: 商談",
    "rejected: Not a fit (too small)": "差し戻し: ターゲット外（too small）",
    "lost: Price": "失注: 価格",
    "score 60": "スコア 60",
    "requested a demo; viewed pricing": "デモを申し込んだ; 料金ページを閲覧した",
}


def test_stored_reasons_read_in_japanese_and_unchanged_in_english():
    for stored, japanese in STORED.items():
        with translation.override("ja"):
            assert reason_words(stored) == japanese, stored
        with translation.override("en"):
            assert reason_words(stored).lower() == stored.lower()  # (a channel by its label: "Meeting")
    with translation.override("ja"):
        assert actor_words("sla") == "SLA 監視"
        assert actor_words("round-robin") == "ラウンドロビン"
        # what people typed, and what no template knows, reads as stored
        assert reason_words("会議で合意済み") == "会議で合意済み"
        assert reason_words("handed back by phone") == "handed back by phone"


def test_a_segment_move_says_its_conditions_in_the_readers_language():
    employees = Condition.from_dict({"field": "employees", "op": "gte", "value": 1000})
    new_row = {"to_id": 7, "conditions": [employees.to_dict()]}
    old_row = {"to_id": 7}  # written before the conditions were kept
    with translation.override("ja"):
        assert "従業員数" in segment_move_words("employees ≥ 1000", new_row, {})
        # an old row: said from the segment's conditions of today while they read as stored
        assert "従業員数" in segment_move_words("employees ≥ 1000", old_row, {7: (employees,)})
        changed = (Condition.from_dict({"field": "employees", "op": "gte", "value": 500}),)
        assert segment_move_words("employees ≥ 1000", old_row, {7: changed}) == "employees ≥ 1000"
        assert (
            segment_move_words("no other segment's conditions hold", {}, {})
            == "ほかのセグメントの条件に当てはまらない"
        )
