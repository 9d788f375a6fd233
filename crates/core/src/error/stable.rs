//! The stable strings clients branch on: `extensions.code` and, where one code covers
//! several situations, `extensions.reason`. Listed in README's error table.

/// Stable values of `extensions.code`: clients branch on these, so they never change.
pub mod codes {
    /// No valid credentials were presented.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The caller is known but may not do this.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The thing does not exist or belongs to someone else (indistinguishable on purpose).
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The request itself is wrong: bad id, bad value, limit exceeded, invalid query.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// The request is valid but clashes with current state (a run already active…).
    pub const CONFLICT: &str = "CONFLICT";
    /// The sandbox provider or object store failed or is unreachable.
    pub const PROVIDER_UNAVAILABLE: &str = "PROVIDER_UNAVAILABLE";
    /// Something broke on our side; the detail is in the server log under the request id.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// Too many requests or too many concurrent operations for this account; retry after
    /// `extensions.retryAfterMs`.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// The request ran longer than the server allows and was stopped.
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// The account's spending or concurrent-run budget does not allow this run.
    pub const BUDGET_EXCEEDED: &str = "BUDGET_EXCEEDED";
    /// An automatic persisted query's hash is not known here: send it again with its text
    /// (Apollo's APQ protocol).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// The server runs only trusted documents (`--trusted-documents`) and this is not one.
    pub const UNTRUSTED_DOCUMENT: &str = "UNTRUSTED_DOCUMENT";
}

/// Stable values of `extensions.reason`, beside `code` where one code covers several
/// situations: clients branch on these too, so they never change.
pub mod reasons {
    /// The document has more nodes, fragments expanded, than `limits.maxExpandedNodes`.
    pub const DOCUMENT_TOO_LARGE: &str = "DOCUMENT_TOO_LARGE";
    /// The document's fields or brackets nest deeper than the limits allow.
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    /// The request would cost more than `limits.maxQueryCost`.
    pub const QUERY_TOO_COSTLY: &str = "QUERY_TOO_COSTLY";
    /// A field or directive has more arguments than `limits.maxArguments`.
    pub const TOO_MANY_ARGUMENTS: &str = "TOO_MANY_ARGUMENTS";
    /// An operation declares more variables than `limits.maxVariables`.
    pub const TOO_MANY_VARIABLES: &str = "TOO_MANY_VARIABLES";
    /// Fragments spread each other in a cycle.
    pub const FRAGMENT_CYCLE: &str = "FRAGMENT_CYCLE";
    /// A mutation sent with `GET` (which may only carry queries).
    pub const MUTATION_OVER_GET: &str = "MUTATION_OVER_GET";
    /// The document does not parse.
    pub const SYNTAX_ERROR: &str = "SYNTAX_ERROR";
    /// `createSandbox` names a template the server does not offer (`templates` lists them).
    pub const UNKNOWN_TEMPLATE: &str = "UNKNOWN_TEMPLATE";
    /// `exposePort` names a port this deployment's sandboxes do not open (on Modal, ports
    /// are opened when a sandbox is made: `--modal-preview-ports`).
    pub const PORT_NOT_OPENED: &str = "PORT_NOT_OPENED";

    // CONFLICT: valid input that clashes with the current state.
    /// The sandbox already has a RUNNING run (one at a time per sandbox).
    pub const RUN_ACTIVE: &str = "RUN_ACTIVE";
    /// The sandbox is not RUNNING (stopped, failed, being created or deleted), so it takes
    /// no runs and no writes.
    pub const NOT_RUNNING: &str = "NOT_RUNNING";
    /// Nothing in the sandbox listens on the port (a preview's upstream is not up yet).
    pub const PORT_CLOSED: &str = "PORT_CLOSED";
    /// The sandbox is asleep and another request is still waking it; retry shortly.
    pub const SANDBOX_ASLEEP: &str = "SANDBOX_ASLEEP";
    /// The workspace holds more entries than `limits.maxSnapshotEntries`; a snapshot of it
    /// would be incomplete, so none is taken.
    pub const TOO_MANY_ENTRIES: &str = "TOO_MANY_ENTRIES";
    /// Another create, sync, wake or delete of this sandbox is in progress.
    pub const LEASE_HELD: &str = "LEASE_HELD";
    /// The sandbox's workspace is on a host with no live instance (stopped, or gone).
    pub const HOST_UNAVAILABLE: &str = "HOST_UNAVAILABLE";
    /// Something already exists there (a path, an account with that externalId).
    pub const ALREADY_EXISTS: &str = "ALREADY_EXISTS";
    /// The directory is not empty; pass `recursive: true`.
    pub const NOT_EMPTY: &str = "NOT_EMPTY";
    /// The workspace's disk is full.
    pub const OUT_OF_SPACE: &str = "OUT_OF_SPACE";
    /// The directory kept changing while it was being removed (more than
    /// `limits.maxDeleteSteps` removals); stop what writes to it and retry.
    pub const KEEPS_CHANGING: &str = "KEEPS_CHANGING";
    /// A file changed while it was being stored, so what was read is not what it holds.
    pub const CHANGED_WHILE_STORED: &str = "CHANGED_WHILE_STORED";
    /// The sandbox never got a workspace (its create failed).
    pub const NO_WORKSPACE: &str = "NO_WORKSPACE";
    /// The run has ended; it takes no more input.
    pub const RUN_ENDED: &str = "RUN_ENDED";
    /// The run was started without `interactive: true` (and not in ASK mode), so it reads
    /// no input.
    pub const NOT_INTERACTIVE: &str = "NOT_INTERACTIVE";
    /// The permission request was already answered (or expired); the first answer stands.
    pub const ALREADY_ANSWERED: &str = "ALREADY_ANSWERED";
    /// Credentials are off on this server: it has no `--secrets-key` to seal them with.
    pub const CREDENTIALS_DISABLED: &str = "CREDENTIALS_DISABLED";
    /// A git command in the sandbox failed (a rejected push, a missing ref, a conflict);
    /// the message carries git's own words.
    pub const GIT_FAILED: &str = "GIT_FAILED";
    /// The workspace is not a git repository (`createSandbox(input: {git})` makes one).
    pub const NOT_A_REPOSITORY: &str = "NOT_A_REPOSITORY";
    /// The account's stored blobs are being reclaimed and the wait for it ran out
    /// (`--reclaim-wait-ms`); retry shortly.
    pub const RECLAIM_IN_PROGRESS: &str = "RECLAIM_IN_PROGRESS";
    /// The snapshot's stored content is damaged or missing (the message names the paths);
    /// `allowPartial` restores everything else.
    pub const SNAPSHOT_CORRUPT: &str = "SNAPSHOT_CORRUPT";
    /// `runEvents` asked for token deltas of a run whose deltas retention removed
    /// (`AgentRun.eventsCompactedAt`); its typed events are all there.
    pub const EVENTS_COMPACTED: &str = "EVENTS_COMPACTED";
    /// The account stores as much as its quota allows; delete snapshots or ask an admin.
    pub const STORAGE_QUOTA_EXCEEDED: &str = "STORAGE_QUOTA_EXCEEDED";

    /// Every reason above, so a reason another instance sends (the internal channel) is
    /// turned back into the constant; checked against this module by a test.
    pub const ALL: &[&str] = &[
        DOCUMENT_TOO_LARGE,
        QUERY_TOO_DEEP,
        QUERY_TOO_COSTLY,
        TOO_MANY_ARGUMENTS,
        TOO_MANY_VARIABLES,
        FRAGMENT_CYCLE,
        MUTATION_OVER_GET,
        SYNTAX_ERROR,
        UNKNOWN_TEMPLATE,
        PORT_NOT_OPENED,
        RUN_ACTIVE,
        NOT_RUNNING,
        PORT_CLOSED,
        SANDBOX_ASLEEP,
        TOO_MANY_ENTRIES,
        LEASE_HELD,
        HOST_UNAVAILABLE,
        ALREADY_EXISTS,
        NOT_EMPTY,
        OUT_OF_SPACE,
        KEEPS_CHANGING,
        CHANGED_WHILE_STORED,
        NO_WORKSPACE,
        RUN_ENDED,
        NOT_INTERACTIVE,
        ALREADY_ANSWERED,
        CREDENTIALS_DISABLED,
        GIT_FAILED,
        NOT_A_REPOSITORY,
        RECLAIM_IN_PROGRESS,
        SNAPSHOT_CORRUPT,
        EVENTS_COMPACTED,
        STORAGE_QUOTA_EXCEEDED,
    ];
}

#[cfg(test)]
mod all_reasons {
    #[test]
    fn every_reason_is_in_the_list() {
        let text = include_str!("stable.rs");
        let module = &text[text.find("pub mod reasons").expect("the module")..];
        let mut n = 0;
        for line in module.lines().map(str::trim).filter(|l| l.starts_with("pub const ") && l.contains(": &str")) {
            let value = line.split('"').nth(1).expect("a string constant");
            assert!(super::reasons::ALL.contains(&value), "{value} is missing from reasons::ALL");
            n += 1;
        }
        assert_eq!(n, super::reasons::ALL.len());
    }
}
