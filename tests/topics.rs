//! `trendflow topics delete` against the real broker.

mod common;

use common::Services;

#[test]
fn topics_are_deleted_only_when_confirmed() {
    let s = Services::fresh("deletion");
    s.succeed(&["topics", "create", "--partitions", "1"]);
    let unconfirmed = s.run(&["topics", "delete"]);
    let message = String::from_utf8_lossy(&unconfirmed.stderr);
    assert!(!unconfirmed.status.success() && message.contains("add --yes to confirm"), "{message}");
    s.succeed(&["topics", "read", "tweets", "--until-idle", "1"]);

    let deleted = s.succeed(&["topics", "delete", "--yes"]);
    assert!(deleted.starts_with("deleted ") && deleted.contains("tweets_dead_letter"), "{deleted}");
    let gone = s.run(&["topics", "read", "tweets", "--until-idle", "1"]);
    let message = String::from_utf8_lossy(&gone.stderr);
    assert!(!gone.status.success() && message.contains("create it with: trendflow topics create"), "{message}");
    assert!(s.succeed(&["topics", "delete", "--yes"]).starts_with("no trendflow topics to delete"));
}
