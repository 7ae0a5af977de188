"""Every label shown to a person, in zh-Hant (as in the source), zh-Hans and en — in one place."""

from __future__ import annotations

from complaint_engine.errors import ValidationError

__all__ = ["LANGUAGES", "label"]

LANGUAGES = ("zh-Hant", "zh-Hans", "en")

_L: dict[str, tuple[str, str, str]] = {
    # statuses
    "status.received": ("已受理", "已受理", "received"),
    "status.referred": ("已轉介", "已转介", "referred"),
    "status.registered": ("已登記", "已登记", "registered"),
    "status.dispatched": ("已派單", "已派单", "dispatched"),
    "status.escalated": ("已上報", "已上报", "escalated"),
    "status.in_progress": ("處理中", "处理中", "in progress"),
    "status.deferred": ("已排期", "已排期", "deferred"),
    "status.resolved": ("已處理", "已处理", "resolved"),
    "status.replied": ("已答復", "已答复", "replied"),
    "status.called_back": ("已回訪", "已回访", "called back"),
    "status.closed": ("已結案", "已结案", "closed"),
    # channels
    "channel.letter": ("信函", "信函", "letter"),
    "channel.phone": ("電話", "电话", "phone"),
    "channel.fax": ("傳真", "传真", "fax"),
    "channel.visit": ("來人面談", "来人面谈", "visit"),
    "channel.online": ("網上", "网上", "online"),
    # KPIs (KPIS.md)
    "kpi.valid_ratio": ("有效投訴率", "有效投诉率", "Valid-complaint ratio"),
    "kpi.per_100_households": ("百戶投訴率", "百户投诉率", "Complaints per 100 households"),
    "kpi.acknowledged_on_time": ("及時受理率", "及时受理率", "Acknowledged on time"),
    "kpi.dispatched_on_time": ("按時派單率", "按时派单率", "Dispatched on time"),
    "kpi.replied_on_time": ("按時答復率", "按时答复率", "Replied on time"),
    "kpi.closed_on_time": ("按時辦結率", "按时办结率", "Closed on time"),
    "kpi.callback_rate": ("回訪率", "回访率", "Callback rate"),
    "kpi.satisfaction": ("回訪滿意率", "回访满意率", "Satisfaction at callback"),
    "kpi.first_contact_resolution": ("一次性解決率", "一次性解决率", "First-contact resolution"),
    "kpi.repeat_rate": ("重複投訴率", "重复投诉率", "Repeat-complaint rate"),
    "kpi.reopen_rate": ("重辦率", "重办率", "Reopen rate"),
    "kpi.escalated_on_time": ("重大投訴上報及時率", "重大投诉上报及时率", "Major complaints escalated on time"),
    "kpi.arrived_on_time": ("維修到場及時率", "维修到场及时率", "Repair arrival on time"),
    "kpi.emergency_same_day": ("急修不過夜率", "急修不过夜率", "Emergency repairs the same day"),
    "kpi.minor_repair_on_time": ("零修及時率", "零修及时率", "Minor repairs on time"),
    "kpi.capa_on_time": ("糾正措施按期完成率", "纠正措施按期完成率", "CAPA actions on time"),
    "kpi.capa_effective": ("糾正措施有效率", "纠正措施有效率", "CAPA effective"),
    "kpi.recurrence_after_capa": ("同類問題復發率", "同类问题复发率", "Recurrence after CAPA"),
    # report
    "report.title": ("業主投訴分析報告", "业主投诉分析报告", "Complaint analysis"),
    "report.period": ("期間", "期间", "Period"),
    "report.office": ("管理處", "管理处", "Office"),
    "report.summary": ("概況", "概况", "Summary"),
    "report.received": ("受理投訴", "受理投诉", "Complaints received"),
    "report.valid": ("有效投訴", "有效投诉", "Valid complaints"),
    "report.referred": ("轉介", "转介", "Referred"),
    "report.empty": ("本期間沒有投訴。", "本期间没有投诉。", "There were no complaints in this period."),
    "report.pareto_category": ("排列圖:投訴類別", "排列图:投诉类别", "Pareto chart: category"),
    "report.pareto_department": ("排列圖:責任部門", "排列图:责任部门", "Pareto chart: department"),
    "report.trend": ("曲線圖:每月投訴量", "曲线图:每月投诉量", "Trend: complaints per month"),
    "report.kpis": ("指標", "指标", "Indicators"),
    "report.findings": ("反覆及普遍性投訴", "反复及普遍性投诉", "Recurring and widespread complaints"),
    "report.no_findings": ("沒有發現。", "没有发现。", "None found."),
    "report.capas": ("未結糾正/預防措施", "未结纠正/预防措施", "Open corrective actions"),
    "report.no_capas": ("沒有。", "没有。", "None."),
    "report.breaches": ("逾期責任", "逾期责任", "Missed limits by owner"),
    "report.durations": ("處理時長(小時)", "处理时长(小时)", "Time taken (hours)"),
    "report.vital_few": ("關鍵少數", "关键少数", "Vital few"),
    "report.change": ("較上期", "较上期", "vs previous"),
    "col.label": ("項目", "项目", "Item"),
    "col.frequency": ("頻數", "频数", "Frequency"),
    "col.cum_frequency": ("累計頻數", "累计频数", "Cum. freq."),
    "col.percent": ("百分比", "百分比", "Percent"),
    "col.cum_percent": ("累計百分比", "累计百分比", "Cum. percent"),
    "col.kpi": ("指標", "指标", "Indicator"),
    "col.value": ("數值", "数值", "Value"),
    "col.counts": ("計數", "计数", "Counts"),
    "col.target": ("目標", "目标", "Target"),
    "col.met": ("達標", "达标", "Met"),
    "col.month": ("月份", "月份", "Month"),
    "col.total": ("合計", "合计", "Total"),
    "trend.increasing": ("上升", "上升", "increasing"),
    "trend.decreasing": ("下降", "下降", "decreasing"),
    "trend.no trend": ("無顯著趨勢", "无显著趋势", "no trend"),
    "finding.repeat": ("反覆投訴,建議採取糾正措施", "反复投诉,建议采取纠正措施", "recurring: open a CAPA"),
    "finding.widespread": ("普遍性投訴,建議公告解決措施", "普遍性投诉,建议公告解决措施",
                           "widespread: announce the solution"),
    "yes": ("是", "是", "yes"),
    "no": ("否", "否", "no"),
}


def label(key: str, lang: str) -> str:
    """The label of ``key`` in ``lang``; an unknown key falls back to the key itself."""
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, f"one of {list(LANGUAGES)}")
    found = _L.get(key)
    return key.split(".", 1)[-1] if found is None else found[LANGUAGES.index(lang)]
