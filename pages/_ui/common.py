"""Page furniture shared by every page: sidebar (device, global seed, ``?debug=1`` timing panel), the
training-slot cap, and the server's once-per-process services (CPU split, timing log)."""
from __future__ import annotations

import streamlit as st
from streamlit.logger import get_logger
from streamlit.runtime.pages_manager import PagesManager

from labkit.device import describe_device, pick_device
from labkit.workers.cpus import CpuSplit, pin_process
import torch

from pages._ui.reaper import WorkerReaper
from pages._ui.server_panel import draw_debug_panel, start_timing_log
from pages._ui.server_timing import server_timing
from pages._ui.slots import (TrainingSlots, cpu_split_from_env, cpu_workers_from_env, gpu_workers_from_env,
                             max_queued_from_env, torch_threads_from_env)
from pages._ui.url_spec import UrlSpec, integer

SEED_KEY = "global_seed"
MAX_SEED = 2**31 - 1
SEED_URL = UrlSpec(integer(SEED_KEY, "seed", 0, MAX_SEED))  # read like every page's own parameters


@st.cache_resource
def device_label() -> str:
    return describe_device(pick_device())


@st.cache_resource
def configure_torch_threads() -> int:
    """Set torch's thread count once per server process (see ``torch_threads_from_env``)."""
    threads = torch_threads_from_env()
    torch.set_num_threads(threads)
    return threads


def worker_kind() -> str:
    """``"gpu"`` when training runs go to a GPU (CUDA here), else ``"cpu"``: the pool a run waits for."""
    return "gpu" if torch.cuda.is_available() else "cpu"


@st.cache_resource
def training_slots() -> TrainingSlots:
    """One registry for the whole server (cache_resource is shared across sessions).

    Caps from the environment: ``APP_GPU_WORKERS`` runs on a GPU server, ``APP_CPU_WORKERS`` on a CPU
    one; ``APP_MAX_QUEUED`` sessions may wait.
    """
    cap = gpu_workers_from_env() if worker_kind() == "gpu" else cpu_workers_from_env()
    return TrainingSlots(cap, max_queued=max_queued_from_env())


@st.cache_resource
def worker_reaper() -> WorkerReaper | None:
    """One reaper per server; None where there is no Streamlit runtime (AppTest)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    return WorkerReaper(Runtime.instance().is_active_session)


@st.cache_resource
def server_services() -> CpuSplit | None:
    """Once per server process: the CPU split of ``APP_TRAINING_CPUS`` (this process moves to the server's
    cores; workers go to theirs when they start) and the timing line in the log every minute. Neither runs
    under AppTest (pinning would move the test process)."""
    from streamlit.runtime import Runtime

    split = cpu_split_from_env()
    if Runtime.exists() and type(Runtime.instance()) is Runtime:  # AppTest's runtime is a MagicMock(spec=Runtime)
        if split is not None:
            pin_process(split.server)
            get_logger(__name__).info("APP_TRAINING_CPUS: web server on cores %s, training workers on cores %s",
                                      sorted(split.server), sorted(split.training))
        start_timing_log(server_timing(), training_slots())
    return split


def track_worker(run) -> None:
    """Have this browser session's run freed, and its slot released, when the session goes away (closed tab)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    reaper, ctx = worker_reaper(), get_script_run_ctx()
    if reaper is not None and ctx is not None:
        holder, slots = session_id(), training_slots()
        reaper.track(ctx.session_id, run, lambda: slots.release(holder))


def session_id() -> str:
    """A stable id for this browser session (used as the slot holder)."""
    if "_session_id" not in st.session_state:
        import uuid

        st.session_state["_session_id"] = uuid.uuid4().hex
    return st.session_state["_session_id"]


def ensure_app_shell() -> None:
    """Make a deep link (``/ntl_explorer?...``) run through app.py like every other visit.

    Our page folder is called ``pages/``, so until some session has called ``st.navigation``,
    Streamlit (1.5x-1.6x) treats the app as a legacy multipage app and runs a deep-linked page
    file on its own: no wide layout, no sections, file names in the sidebar. Switching the
    process to ``st.navigation`` mode and rerunning sends this request through app.py.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def sidebar() -> int:
    """Draw the sidebar (device, global seed) and return the global seed.

    Every page calls this first thing (not app.py): widgets drawn by the navigation
    entrypoint are lost on reruns under AppTest, so page tests could not drive them.
    """
    ensure_app_shell()
    configure_torch_threads()
    server_services()
    SEED_URL.init_session({SEED_KEY: 0})
    with st.sidebar:
        st.caption(f"Compute device: **{device_label()}**", help="CPU threads: set APP_TORCH_THREADS before starting the app.")
        seed = st.number_input(
            "Global seed", min_value=0, max_value=MAX_SEED, step=1, key=SEED_KEY,
            help="One seed fixes data, initialisation and sampling everywhere in the app.",
        )
    st.query_params["seed"] = str(int(seed))
    if st.query_params.get("debug") == "1":
        draw_debug_panel(server_timing(), training_slots())
    return int(seed)
