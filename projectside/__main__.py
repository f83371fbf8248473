"""The process the suite starts with the project's Python: it serves the suite's requests
until the suite closes the pipe. Started with this package's private copy first on sys.path
(see checks.project.agent); the requests come on stdin and the answers go to stdout, which
are then taken away from the project's code: its input is empty, and what it prints goes to
stderr, the project log."""

from __future__ import annotations

import io
import os
import signal
import sys

from .channel import Channel
from .context import NO_METADATA, Context, ProjectFailure, wants_flask_app
from .errors import described
from .facts import describe as describe_facts

# What the suite sends when a revision outlives its time limit away from any statement the
# database could cancel (Python code sleeping or looping): raised in the migrating thread.
INTERRUPT = getattr(signal, "SIGUSR1", None)


class Interrupted(BaseException):
    """Raised by the suite's signal; a BaseException, so the project's `except Exception`
    cannot swallow it."""


class Agent:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.context: Context | None = None
        self.history = None
        self.ini: dict = {}
        from .run import Paused

        self.paused = Paused()
        self.walking = False
        self.configured: dict = {}  # what env.py passed to context.configure on its last run
        if INTERRUPT is not None:
            signal.signal(INTERRUPT, self._interrupted)

    def _interrupted(self, signum, frame) -> None:
        if self.walking:
            raise Interrupted("ended by the suite: past its time limit")

    # --- requests ---------------------------------------------------------------
    def op_facts(self) -> dict:
        return describe_facts()

    def op_open(self, root: str, paths: list, ini: dict, runner: str | None = None,
                flask_app: str | None = None, source: str = "defaults",
                variables: dict | None = None) -> None:
        env_py = os.path.join(ini["script_location"], "env.py")
        self.context = Context(root, paths, runner, flask_app, wants_flask_app(env_py), source)
        self.context.set_environment(variables)
        self.ini = ini

    def op_history(self) -> dict:
        from .history import History

        def load():
            if self.history is None:
                self.history = History(self.ini)
            return self.history.describe()

        return self._context().run(load)

    def op_run(self, plan: list, url: str, variables: dict | None = None, pause_before: list = (),
               ask_skip: bool = False, commit_each: bool = False, lend: bool = True) -> dict:
        from .connection import lent_connection
        from .history import config
        from .run import Walk

        context = self._context()
        context.set_environment(variables)
        walk = Walk(self.history, plan, self.event, self.paused, list(pause_before), ask_skip, commit_each)
        cfg = config(dict(self.ini, url=url))
        self.walking = True
        try:
            if lend:
                with lent_connection(url) as connection:
                    cfg.attributes["connection"] = connection
                    context.run(lambda: walk.run(cfg, {}))
            else:
                context.run(lambda: walk.run(cfg, {}))
        except BaseException as exc:  # noqa: BLE001 - SystemExit from env.py included
            if isinstance(exc, KeyboardInterrupt):
                raise
            return {"started": walk.started, "done": walk.done, "error": described(exc)}
        finally:
            self.walking = False
            self.paused.connection = None
            if walk.options:
                self.configured = walk.options
        return {"started": walk.started, "done": walk.done, "error": None}

    def op_upgrade_heads(self, url: str, linger_s: float, variables: dict | None = None) -> None:
        """`alembic upgrade heads` as an application instance runs it when it starts."""
        from .boot import upgrade_heads
        from .connection import lent_connection
        from .history import config

        context = self._context()
        context.set_environment(variables)
        cfg = config(dict(self.ini, url=url))
        with lent_connection(url) as connection:
            cfg.attributes["connection"] = connection
            context.run(lambda: upgrade_heads(self.history.script, cfg, linger_s))

    def op_bootstrap(self, hook: str, url: str, variables: dict | None = None) -> None:
        """The project's bootstrap hook, given a connection to the fresh database."""
        context = self._context()
        context.set_environment(variables)
        function = context.resolve(hook, "bootstrap hook")
        if not callable(function):
            raise ProjectFailure(f"bootstrap hook {hook!r} is not callable")
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                function(connection)
        except Exception as exc:  # noqa: BLE001 - the project's hook failed
            gist = " | ".join(line.strip() for line in str(exc).strip().splitlines()[:3] if line.strip())
            raise ProjectFailure(
                f"bootstrap hook {hook} failed: {type(exc).__name__}: {gist[:400]}") from None
        finally:
            engine.dispose()

    def op_models_build(self, url: str, extensions: list, metadata: str | None = None,
                        modules: list = ()) -> None:
        from .models import build

        self._with_models(metadata, modules, lambda metadatas: build(url, metadatas, extensions))

    def op_models_compare(self, url: str, ignore: list, metadata: str | None = None,
                          modules: list = ()) -> list:
        from .autogenerate import compare

        return self._with_models(metadata, modules,
                                 lambda metadatas: compare(url, metadatas, self.configured, ignore))

    def op_models_filters(self, questions: dict, ignore: list, metadata: str | None = None,
                          modules: list = ()) -> dict:
        from .autogenerate import include_filter
        from .scope import Filters

        include = include_filter(self.configured.get("include_object"), frozenset(ignore))

        def answer(metadatas):
            return Filters(self.configured, include, metadatas).answer(questions)

        return self._with_models(metadata, modules, answer)

    def op_models_long_names(self, metadata: str | None = None, modules: list = ()) -> list:
        from .autogenerate import long_names

        return self._with_models(metadata, modules, long_names)

    def op_models_statements(self, metadata: str | None = None, modules: list = ()) -> list:
        """What the models' ORM sends per table, for the rolling-deploy check."""
        from .rolling import statements

        return self._with_models(metadata, modules, statements)

    def _with_models(self, metadata, modules, call):
        """`call(metadatas)` in the project's context: the models --metadata names, else the
        target_metadata env.py passed on its last run (after importing the metadata modules)."""
        from .models import metadata_list

        context = self._context()

        def models():
            if metadata:
                found = context.resolve(metadata, "--metadata")
            else:
                for module in modules:
                    context.resolve(f"{module}:__name__", "metadata module")
                found = self.configured.get("target_metadata")
            metadatas = metadata_list(found)
            if not metadatas:
                raise ProjectFailure(NO_METADATA)
            return call(metadatas)

        return context.run(models)

    def op_sql(self, statements: list) -> list:
        return self.paused.rows(statements)

    def op_offline(self, plan: list, reported: list, url: str | None = None, variables: dict | None = None,
                   bare: bool = False, starting_rev: list | None = None) -> dict:
        """The revisions of `plan` as `alembic upgrade --sql` runs them, for lint
        (`projectside.offline`): each revision's record comes with its step's event, the
        answer says how far the run got and why it stopped."""
        from .history import config
        from .offline import capture

        context = self._context()
        context.set_environment(variables)
        self.walking = True
        try:
            answer, failure = capture(self.history, config(dict(self.ini, url=url)), plan, reported,
                                      self.event, context.run, bare, starting_rev)
        finally:
            self.walking = False
        answer["error"] = described(failure) if failure is not None else None
        return answer

    # --- plumbing ---------------------------------------------------------------
    def _context(self) -> Context:
        if self.context is None:
            raise ProjectFailure("the project was not opened")
        if self.history is None and self.ini:
            from .history import History

            self.history = self.context.run(lambda: History(self.ini))
        return self.context

    def event(self, name: str, data: dict):
        """Tell the suite, serve what it asks meanwhile, and return what it resumes with."""
        self.channel.send({"event": name, "data": data})
        return self.serve(until_resume=True)

    def serve(self, until_resume: bool = False):
        while True:
            message = self.channel.receive()
            if message is None:
                sys.exit(0)  # the suite has gone: nothing is left to do
            op, args = message.get("op"), message.get("args") or {}
            if op == "resume":
                if until_resume:
                    return args.get("value")
                continue
            handler = getattr(self, "op_" + str(op), None)
            if handler is None:
                self.channel.send({"error": {"type": "UnknownRequest", "message": f"no such request: {op}"}})
                continue
            try:
                self.channel.send({"ok": handler(**args)})
            except ProjectFailure as exc:
                self.channel.send({"error": {"type": "ProjectFailure", "message": str(exc)}})
            except Exception as exc:  # noqa: BLE001 - the project's code, or ours: the suite decides
                self.channel.send({"error": described(exc)})


def main() -> None:
    channel = Channel(os.dup(0), os.dup(1))
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)  # the project's code must never wait on input
    os.close(nothing)
    os.dup2(2, 1)  # nor write into the channel
    sys.stdin = io.StringIO()
    Agent(channel).serve()


if __name__ == "__main__":
    main()
