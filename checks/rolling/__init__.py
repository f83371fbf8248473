"""Rolling deploys: what the release still running sends, replayed while the history moves on.

`release` opens the previous release from git and asks each release's models for their
ORM statements (compiled on the project's side, `projectside.rolling`); `probes` sends
them to a database with rows; `verdict` names the revision that breaks one, and the
expand/contract way to ship it. The stage that drives them is `checks.stages.rolling`.
"""
