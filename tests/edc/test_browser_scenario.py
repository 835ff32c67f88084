"""The eCRF in a real browser (Debian Chromium under Playwright), one site's day of work.

Issue 7, Done when: log in, create a subject, screen it (eligibility shown
with reasons), enter labs with one soft-range warning, raise and close a
query, sign, edit after signing (signature voided), export and run the
report. Against ``saatrial serve`` (gunicorn, production settings, a fresh
SQLite data directory with the bundled study) on 127.0.0.1, as five users in
their own browser contexts:

1. coordinator ``cora``: enrols subject BR01, enters its screening form
   (comet assay not done), sees on the screening page that BR01 is not
   eligible and why; enters labs - ANC, then a haemoglobin of 25 g/L, below
   the plausible range (soft range 30-200 g/L, hard range 10-250): the form
   warns, the value is confirmed and a data query opens by itself;
2. monitor ``mona``: raises a query on the ANC value and marks the ANC record
   source-verified;
3. data manager ``dana``: closes mona's query with a closing note;
4. investigator ``ivan``: signs BR01's casebook (a wrong password first is
   refused), then corrects the ANC value with a reason - the signature and
   the source verification show as void/cleared on the subject page;
5. statistician ``stan``: exports the study (CSV zip holding BR01) and runs
   the analysis; the report's index.html opens.

Every console error, page error, failed request and HTTP answer >= 400 fails
the test. Screenshots of the key steps go to the test's tmp folder.
"""

from __future__ import annotations

import re
import sqlite3
import time
import zipfile

import pytest

from .browser import PASSWORD, Shots, Watch, chromium_or_skip, live_ecrf, log_in

pytestmark = pytest.mark.slow

SID = "BR01"


def lab_pk(page, date: str, test: str) -> int:
    """Primary key of the subject page's lab row for ``date`` and ``test``."""
    html = page.inner_html("#table-labs")
    found = re.search(rf'<tr id="row-labs-(\d+)"><td>{date}</td><td>{test}</td>', html)
    assert found, f"no lab row {date} {test} on the subject page"
    return int(found.group(1))


def test_a_site_day_in_the_browser(tmp_path):
    started = time.monotonic()
    shots = Shots(tmp_path / "screenshots")
    watch = Watch()
    with chromium_or_skip() as browser, live_ecrf(tmp_path / "data") as ecrf:
        base = ecrf.base_url

        # --- 1. coordinator: enrol, screen, enter labs ----------------------------------------
        page = log_in(browser, base, "cora", watch)
        assert "Study coordinator (IHBDH)" in page.inner_text("main")
        page.click("#nav-new-subject")
        page.fill("#id_subject_id", SID)
        assert page.inner_text("#id_site option[value=IHBDH]").startswith(
            "IHBDH (Institute of Hematology"
        )
        assert page.inner_text("#id_arm option[value=CONTROL]") == "CONTROL (IST alone)"
        page.select_option("#id_site", "IHBDH")
        page.select_option("#id_arm", "CONTROL")
        page.select_option("#id_dose_level_id", "NONE")
        page.select_option("#id_sex", "F")
        for name, value in (
            ("birth_date", "2008-03-01"),
            ("diagnosis_date", "2014-02-01"),
            ("weight_kg", "25"),
            ("height_cm", "120"),
            ("consent_date", "2014-02-10"),
            ("enrolment_date", "2014-02-12"),
        ):
            page.fill(f"#id_{name}", value)
        shots(page, "new-subject-form")
        page.click("#crf-submit")
        page.wait_for_url(f"{base}/subjects/{SID}/")
        assert page.inner_text("#subject-title") == f"Subject {SID}"
        assert "subjects created" in page.inner_text("#messages")
        assert page.inner_text("#hdr-signature") == "not signed"

        page.click("#add-screening")
        page.fill("#id_screening_date", "2014-02-25")
        page.select_option("#id_mitomycin_c_test", "NEG")
        page.select_option("#id_comet_assay", "ND")
        page.select_option("#id_ngs_ibmfs", "NEG")
        page.fill("#id_lansky", "60")
        page.click("#crf-submit")
        page.wait_for_url(f"{base}/subjects/{SID}/#section-screening")
        page.click("#link-screening")
        result = page.inner_text("#eligibility-result")
        assert result == "not eligible: 5 criteria failed", result
        assert page.inner_text("#failed-fanconi_comet td:nth-child(2)") == (
            "comet assay not done: not assessed"
        )
        assert page.locator("#failed-severity").count() == 1  # no blood counts yet
        assert page.locator("#eligibility-passed tr").count() > 0  # passed ones, with reasons
        shots(page, "screening-not-eligible")

        page.goto(f"/subjects/{SID}/labs/add/")
        assert page.inner_text("label[for=id_lln]") == "LLN (lower limit of normal):"
        page.fill("#id_lab_date", "2014-02-20")
        page.select_option("#id_test", "ANC")
        page.fill("#id_value", "0.1")
        page.click("#crf-submit")
        page.wait_for_url(re.compile(r".*#section-labs$"))
        page.goto(f"/subjects/{SID}/labs/add/")
        page.fill("#id_lab_date", "2014-02-20")
        page.select_option("#id_test", "HGB")
        page.fill("#id_value", "25")
        page.click("#crf-submit")
        warning = page.inner_text("#plausibility-warnings")
        assert "25" in warning and "30" in warning, warning  # value and plausible limit named
        assert "tick the confirmation box" in page.inner_text("#form-errors")
        shots(page, "soft-range-warning")
        page.check("#id_confirm_warnings")
        page.click("#crf-submit")
        page.wait_for_url(re.compile(r".*#section-labs$"))
        message = page.inner_text("#messages")
        assert "1 data query(ies) opened" in message, message
        anc, hgb = lab_pk(page, "2014-02-20", "ANC"), lab_pk(page, "2014-02-20", "HGB")
        assert page.inner_text(f"#open-queries-labs-{hgb}") == "1 open"
        watch.check("coordinator")

        # --- 2. monitor: raise a query, verify the ANC record against the source ---------------
        page = log_in(browser, base, "mona", watch)
        page.goto(f"/subjects/{SID}/")
        page.click(f"#query-labs-{anc}")
        page.select_option("#id_field", "value")
        page.fill("#id_text", "ANC 0.1: please check against the laboratory report.")
        page.click("#raise-submit")
        page.wait_for_url(re.compile(r".*/queries/\d+/$"))
        query_url = page.url
        assert page.inner_text("#query-status-value") == "open"
        assert page.inner_text("#query-target") == f"labs {SID}|2014-02-20|ANC.value"
        page.goto(f"/subjects/{SID}/")
        page.click(f"#verify-labs-{anc}")
        assert page.inner_text("#sdv-value-value") == "0.1"
        page.check("#id_compared")
        shots(page, "source-verification")
        page.click("#sdv-submit")
        page.wait_for_url(re.compile(r".*#section-labs$"))
        assert page.inner_text(f"#sdv-labs-{anc}").startswith("verified by mona")
        watch.check("monitor")

        # --- 3. data manager: close the query --------------------------------------------------
        page = log_in(browser, base, "dana", watch)
        page.goto(query_url)
        page.click("#query-action-close")
        page.fill("#id_text", "Checked with the site: ANC 0.1 is the laboratory's value.")
        page.click("#query-action-submit")
        page.wait_for_url(query_url)
        assert page.inner_text("#query-status-value") == "closed"
        assert page.inner_text("#messages") == f"query #{query_url.split('/')[-2]} closed."
        shots(page, "query-closed")
        watch.check("data manager")

        # --- 4. investigator: sign, then edit after signing ------------------------------------
        page = log_in(browser, base, "ivan", watch)
        page.goto(f"/subjects/{SID}/")
        page.click("#link-sign")
        page.check("input[name=meaning][value=approval]")
        page.fill("#id_password", "not my password")
        page.click("#sign-submit")
        assert "password not accepted" in page.inner_text("#form-errors")
        page.check("input[name=meaning][value=approval]")
        page.fill("#id_password", PASSWORD)
        page.click("#sign-submit")
        page.wait_for_url(f"{base}/subjects/{SID}/")
        assert page.get_attribute("#hdr-signature", "class") == "valid"
        assert page.inner_text("#hdr-signature").startswith("signed by ivan on ")
        shots(page, "signed")

        page.click(f"#edit-labs-{anc}")
        page.fill("#id_value", "0.15")
        page.fill("#id_reason", "transcription error: the report says 0.15")
        page.click("#crf-submit")
        page.wait_for_url(re.compile(r".*#section-labs$"))
        assert page.get_attribute("#hdr-signature", "class") == "void"
        voided = page.inner_text("#hdr-signature")
        assert voided.startswith("void: data changed after signing on ") and "by ivan" in voided
        assert page.get_attribute(f"#sdv-labs-{anc}", "class") == "sdv-cleared"
        assert page.inner_text(f"#sdv-labs-{anc}").startswith("cleared: changed by ivan")
        # wide casebook tables scroll inside their section: the page itself fits the window
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        shots(page, "signature-void-after-edit")
        watch.check("investigator")

        # --- 5. statistician: export, run the analysis, open the report ------------------------
        page = log_in(browser, base, "stan", watch)
        page.click("#nav-export")
        page.select_option("#id_format", "csv")
        with page.expect_download() as download_info:
            page.click("#export-submit")
        archive = tmp_path / "export.zip"
        download_info.value.save_as(archive)
        with zipfile.ZipFile(archive) as zipped:
            subjects = zipped.read("nct02218437/subjects.csv").decode()
            labs = zipped.read("nct02218437/labs.csv").decode()
        assert f"\n{SID},IHBDH,CONTROL,NONE,F,2008-03-01," in subjects
        assert f"\n{SID},2014-02-20,ANC,0.15,10^9/L," in labs

        page.click("#nav-analysis")
        page.check("#id_confirm")
        page.click("#analysis-submit", timeout=90_000)
        page.wait_for_url(re.compile(r".*/analysis/\d{8}T\d{12}Z/$"), timeout=90_000)
        page.wait_for_load_state("load")
        assert page.title() == "NCT02218437: trial report"
        images = page.eval_on_selector_all(
            "img", "els => els.map(i => [i.complete, i.naturalWidth])"
        )
        assert images and all(done and width > 0 for done, width in images)
        shots(page, "report")
        watch.check("statistician")

    # what the server stored, read from the SQLite file after the server stopped
    with sqlite3.connect(tmp_path / "data" / "saatrial.sqlite3") as db:
        actions = dict(
            db.execute(
                "SELECT action, count(*) FROM audit_auditentry WHERE username IN "
                "('cora', 'mona', 'dana', 'ivan', 'stan') GROUP BY action"
            ).fetchall()
        )
    for action in ("query_raised", "query_closed", "signed", "source_verified", "export"):
        assert actions.get(action, 0) >= 1, (action, actions)
    assert actions["report_run"] == 1 and actions["login_failed"] == 1  # the wrong password
    assert len(shots.taken) == 8 and all(p.stat().st_size > 10_000 for p in shots.taken)
    assert time.monotonic() - started < 90, "the scenario should stay under 90 s"
