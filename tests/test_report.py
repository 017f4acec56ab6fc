"""The report: statistics checked against published values, and the HTML page checked in a real
headless browser (Debian's chromium and chromedriver): no console errors, tables sort, images show,
and names from datasets and plugins render as text, never as markup."""

from __future__ import annotations

import os
import shutil

import optuna
import pytest

from automl import compare, report
from automl.storage import open_storage
from automl.study import ATTR, RESULT, Experiment, run
from tests.test_compare import _rows

HOSTILE = "<script>alert(1)</script>"


def test_the_critical_difference_matches_demsar() -> None:
    # Demšar (2006), table 5(a): q(0.05) for k = 3 models is 2.343, so CD = 2.343 * sqrt(3*4/(6N)).
    cd = compare.critical_difference(_rows())
    assert cd.cd == pytest.approx(2.343 * (12 / 18) ** 0.5, abs=1e-3)
    assert cd.models[-1] == "dummy" and cd.mean_ranks[-1] == 3
    assert 0 < cd.p_value < 0.1  # dummy is last on all three datasets


def _storage(tmp_path) -> str:
    url = str(tmp_path / "s.journal")
    for dataset in ("iris", "wine"):
        for model in ("knn", "decision_tree", "dummy"):
            run(Experiment(dataset=dataset, model=model, storage=url, n_trials=3, progress=False,
                           threads=1, sampler={"_target_": "optuna.samplers.RandomSampler",
                                               "seed": 0}))  # fmt: skip
    study = optuna.create_study(study_name=f"{HOSTILE}/x", storage=open_storage(url))
    study.set_user_attr(ATTR, {"dataset": HOSTILE, "model": '<img src=x onerror="alert(2)">',
                               "seed": 0, "metric": "accuracy", "direction": "maximize"})  # fmt: skip
    study.add_trial(optuna.trial.create_trial(value=0.5))
    study.set_user_attr(
        RESULT, {"val_score": 0.5, "test_score": 0.5, "params": {}, "best_trial": 0}
    )
    return url


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    paths = report.build(_storage(tmp), tmp / "out")
    return paths


def test_the_report_has_its_parts(built) -> None:
    page = built[0].read_text()
    assert built[0].name == "report.html" and built[1].name == "report.md"
    assert "Across datasets" in page and page.count("data:image/png;base64,") == len(built) - 2
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page  # a hostile model name, escaped too
    assert page.count("re-run</summary>") == 7  # every row says how to make it again
    markdown = built[1].read_text()
    for image in built[2:]:
        assert f"img/{image.name}" in markdown and image.stat().st_size > 1000


@pytest.fixture(scope="module")
def browser():
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        if os.environ.get("CI"):
            pytest.fail("chromedriver missing: .ci/run installs chromium and chromium-driver")
        pytest.skip("no chromium-driver here (apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if shutil.which("chromium"):
        options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def test_the_page_loads_sorts_and_shows_its_images_in_a_browser(built, browser) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get(built[0].resolve().as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - no injected script ran
    assert HOSTILE in browser.find_element(By.TAG_NAME, "body").text  # shown as text

    images = browser.find_elements(By.TAG_NAME, "img")
    assert images and all(
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i) > 0
        for i in images
    )

    table = browser.find_element(By.ID, "board-iris")
    column = [th.text for th in table.find_elements(By.TAG_NAME, "th")].index("fit_time")

    def fit_times() -> list[float]:
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        return [float(r.find_elements(By.TAG_NAME, "td")[column].text) for r in rows]

    header = table.find_elements(By.TAG_NAME, "th")[column]
    header.click()
    assert fit_times() == sorted(fit_times())
    header.click()
    assert fit_times() == sorted(fit_times(), reverse=True)
    assert browser.get_log("browser") == []  # clicking raised nothing either
