"""The arq worker: `python -m workers` (restarts itself through outages), or `arq workers.WorkerSettings`."""


def __getattr__(name: str):
    # Lazily: importing the settings reads the environment, which `python -m workers` checks first.
    if name == "WorkerSettings":
        from workers.settings import WorkerSettings

        return WorkerSettings
    raise AttributeError(name)
