#!/usr/bin/env python3
"""Writes examples/bank/: a small, realistic bank whose departments keep files the way real ones
do - PDFs, spreadsheets, CSV exported from Excel on Chinese Windows (GBK), UTF-16 notes, HTML,
Markdown, DOCX and JSON Lines - in Chinese and English. All names, numbers and ids are invented.

The files are committed so that the README's first command needs nothing but cargo; run this
script (pip install reportlab openpyxl) to regenerate them after changing it. Output is
deterministic apart from the creation dates that the PDF and XLSX writers stamp.
"""
import csv
import io
import json
import random
import zipfile
from pathlib import Path

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

ROOT = Path(__file__).resolve().parent / "bank"
rng = random.Random(20241123)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京"]


def id_card(year):
    """A resident ID number with a valid ISO 7064 MOD 11-2 check digit (invented person)."""
    body = f"{rng.choice([110101, 310104, 440305, 330106, 510107])}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


def customers(n):
    out = []
    for i in range(n):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        out.append({
            "customer_id": f"C{10001 + i}",
            "id_card": id_card(rng.randint(1960, 2000)),
            "mobile": f"1{rng.choice([35, 38, 39, 58, 86, 88])}{rng.randint(10000000, 99999999)}",
            "name": name,
            "city": rng.choice(CITIES),
            "credit_score": rng.randint(520, 820),
            "credit_limit": rng.choice([50000, 80000, 120000, 200000, 300000, 500000]),
            "opened": f"20{rng.randint(15, 23)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        })
    return out


def risk_pdf(path):
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    styles = getSampleStyleSheet()
    zh = ParagraphStyle("zh", parent=styles["Normal"], fontName="STSong-Light", fontSize=11, leading=16)
    zh_h = ParagraphStyle("zhh", parent=zh, fontSize=16, leading=22)
    doc = SimpleDocTemplate(str(path), pagesize=A4, title="2024年第一季度信用风险评估报告", author="风险管理部")
    story = [
        Paragraph("2024年第一季度信用风险评估报告", zh_h),
        Spacer(1, 8),
        Paragraph("一、总体情况。本季度个人信贷资产质量保持稳定，不良贷款率为1.32%，较上季度下降0.05个百分点。"
                  "重点关注类贷款主要集中在小微企业经营贷款，占比为2.8%。", zh),
        Spacer(1, 6),
        Paragraph("二、主要风险。房地产相关贷款的抵押物价值下降，部分城市二手房价格回落约6%。"
                  "建议对抵押率超过70%的贷款进行重新评估，并提高拨备覆盖率至200%以上。", zh),
        Spacer(1, 10),
    ]
    rows = [["地区", "贷款余额（亿元）", "不良率", "拨备覆盖率"]]
    for city in CITIES[:6]:
        rows.append([city, f"{rng.uniform(20, 90):.1f}", f"{rng.uniform(0.8, 2.1):.2f}%", f"{rng.randint(180, 260)}%"])
    t = Table(rows)
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
                           ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    story += [t, PageBreak(),
              Paragraph("三、下一步工作。加强贷后管理，对逾期30天以上的客户启动催收流程；"
                        "完善反欺诈模型，将设备指纹纳入授信审批。", zh)]
    doc.build(story)


def fraud_pdf(path):
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(str(path), pagesize=A4, title="Card Fraud Review 2024-03", author="Fraud Detection")
    story = [Paragraph("Card Fraud Review, March 2024", styles["Title"]),
             Paragraph("Confirmed card fraud losses fell to 0.021% of card volume. Most cases were "
                       "card-not-present purchases made overnight from a new device.", styles["Normal"]),
             Spacer(1, 10)]
    rows = [["Rule", "Alerts", "Confirmed", "Precision"]]
    for rule, a in [("Night-time CNP over 5000", 412), ("New device + new payee", 305),
                    ("Velocity: 5 txns in 10 min", 198), ("Cross-border after dormancy", 87)]:
        c = rng.randint(a // 10, a // 3)
        rows.append([rule, str(a), str(c), f"{c / a:.2f}"])
    t = Table(rows)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    story.append(t)
    doc.build(story)


def credit_xlsx(path, custs):
    wb = Workbook()
    ws = wb.active
    ws.title = "客户评分"
    ws.append(["2024年3月客户信用评分表"])
    ws.merge_cells("A1:F1")
    ws.append(["客户编号", "姓名", "身份证号", "手机号", "城市", "信用评分", "授信额度", "开户日期"])
    import datetime as dt
    for c in custs:
        y, m, d = map(int, c["opened"].split("-"))
        ws.append([c["customer_id"], c["name"], c["id_card"], c["mobile"], c["city"], c["credit_score"],
                   c["credit_limit"], dt.date(y, m, d)])
    for row in ws.iter_rows(min_row=3, min_col=8, max_col=8):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    bands = wb.create_sheet("Score bands")
    bands.append(["Band", "Min score", "Max score", "Max limit (CNY)"])
    for b in [("A", 750, 850, 500000), ("B", 680, 749, 200000), ("C", 600, 679, 80000), ("D", 300, 599, 0)]:
        bands.append(list(b))
    wb.properties.creator = "Credit Scoring"
    wb.save(path)


def scoring_docx(path):
    def p(text, style=None):
        ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'

    def cell(t):
        return f"<w:tc>{p(t)}</w:tc>"

    rows = [["维度", "权重", "说明"], ["还款记录", "35%", "近24个月逾期次数"], ["负债比率", "30%", "月还款额/月收入"],
            ["信用历史长度", "15%", "最早账户开立至今"], ["新增授信", "10%", "近6个月新申请次数"], ["资产情况", "10%", "存款与理财余额"]]
    table = "<w:tbl>" + "".join("<w:tr>" + "".join(cell(c) for c in r) + "</w:tr>" for r in rows) + "</w:tbl>"
    body = (p("个人客户信用评分规则", "Heading1") +
            p("本规则适用于个人消费贷款与信用卡授信审批。评分结果分为A、B、C、D四档。") +
            p("评分维度", "Heading2") + table +
            p("评分低于600分的客户原则上不予授信；特殊情况须经风险管理部复核。"))
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           f"<w:body>{body}</w:body></w:document>")
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<dc:title>个人客户信用评分规则</dc:title><dc:creator>信用评分部</dc:creator>"
            '<dcterms:created xsi:type="dcterms:W3CDTF">2024-02-01T09:00:00Z</dcterms:created></cp:coreProperties>')
    types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
             '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("[Content_Types].xml", types), ("_rels/.rels", rels),
                           ("word/document.xml", doc), ("docProps/core.xml", core)]:
            info = zipfile.ZipInfo(name, date_time=(2024, 2, 1, 9, 0, 0))
            z.writestr(info, data, zipfile.ZIP_DEFLATED)


def fraud_csv(path, custs):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["案件编号", "客户编号", "交易时间", "金额", "渠道", "状态"])
    for i in range(40):
        c = rng.choice(custs)
        w.writerow([f"F2024{i + 1:04d}", c["customer_id"], f"2024-03-{rng.randint(1, 31):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
                    f"{rng.uniform(200, 50000):.2f}", rng.choice(["网银", "手机银行", "POS", "ATM"]),
                    rng.choice(["已确认欺诈", "误报", "调查中"])])
    # Excel on Chinese Windows saves CSV in GBK: collect must detect it, not assume UTF-8.
    path.write_bytes(buf.getvalue().encode("gbk"))


def alerts_jsonl(path, custs):
    with path.open("w", encoding="utf-8") as f:
        for i in range(25):
            c = rng.choice(custs)
            f.write(json.dumps({"alert_id": i + 1, "customer_id": c["customer_id"], "score": round(rng.uniform(0.5, 1), 3),
                                "rule": rng.choice(["night_cnp", "new_device", "velocity"]), "reviewed": rng.random() < 0.6},
                               ensure_ascii=False) + "\n")


def faq_html(path):
    path.write_text("""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>信用卡常见问题</title>
<style>body{font-family:sans-serif}</style><script>window.analytics = {};</script></head>
<body><nav><a href="/">首页</a> <a href="/cards">信用卡</a> <a href="/loans">贷款</a></nav>
<h1>信用卡常见问题</h1>
<h2>如何提高信用额度？</h2>
<p>持卡满六个月且近期无逾期记录的客户，可通过手机银行申请提额。系统将根据<strong>信用评分</strong>与用卡情况自动评估。</p>
<h2>发现盗刷怎么办？</h2>
<p>请立即拨打客服热线冻结卡片，并在24小时内到网点填写《争议交易申请表》。经核实为欺诈交易的，损失由银行先行赔付。</p>
<h2>What is the annual fee?</h2>
<p>The standard card has no annual fee if it is used six times a year; the platinum card costs 600 yuan a year.</p>
<table><tr><th>卡种</th><th>年费（元）</th><th>免年费条件</th></tr>
<tr><td>标准卡</td><td>100</td><td>年刷卡6次</td></tr>
<tr><td>白金卡</td><td>600</td><td>年消费满20万元</td></tr></table>
<footer>© 示例银行 客户服务部</footer></body></html>
""", encoding="utf-8")


def call_notes(path, custs):
    c = custs[3]
    text = (f"2024-03-12 客户{c['name']}（手机 {c['mobile']}，身份证 {c['id_card']}）来电：反映信用卡在凌晨发生三笔境外交易，"
            "客户本人未出境。已冻结卡片并转反欺诈组处理。\n"
            "2024-03-13 Customer called about a declined payment at a hotel in Singapore; the card had been blocked "
            "after a velocity alert. Identity verified, block lifted.\n"
            "2024-03-15 客户咨询提前还款是否收取违约金：按合同约定，提前还款免收违约金。\n")
    # Notes exported from the call-centre system come out as UTF-16 with a BOM.
    path.write_bytes(text.encode("utf-16"))


def risk_policy_md(path):
    path.write_text("""---
title: Collateral revaluation policy
---
# Collateral revaluation policy

Loans whose loan-to-value ratio exceeds **70%** after revaluation are flagged for review.

## 抵押物重估

抵押物每年至少重估一次；房价下跌超过10%的城市，每季度重估一次。

## Escalation

| LTV | Action |
|-----|--------|
| 70-80% | Relationship manager review |
| > 80% | Risk committee review |
""", encoding="utf-8")


def main():
    custs = customers(60)
    dirs = {d: ROOT / d for d in ["risk", "credit", "fraud", "customer-service"]}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    risk_pdf(dirs["risk"] / "风险评估报告-2024Q1.pdf")
    risk_policy_md(dirs["risk"] / "collateral-policy.md")
    credit_xlsx(dirs["credit"] / "credit-scores-2024-03.xlsx", custs)
    scoring_docx(dirs["credit"] / "评分规则.docx")
    fraud_pdf(dirs["fraud"] / "card-fraud-review-2024-03.pdf")
    fraud_csv(dirs["fraud"] / "欺诈案件-2024-03.csv", custs)
    alerts_jsonl(dirs["fraud"] / "alerts.jsonl", custs)
    faq_html(dirs["customer-service"] / "faq.html")
    call_notes(dirs["customer-service"] / "call-notes.txt", custs)
    # Departments keep copies of each other's files; clean must find the near-duplicate.
    policy = (dirs["risk"] / "collateral-policy.md").read_text(encoding="utf-8")
    (dirs["credit"] / "collateral-policy-copy.md").write_text(
        policy.replace("flagged for review", "flagged for a review"), encoding="utf-8")


if __name__ == "__main__":
    main()
