//! Announcements replicas share: what one replica's server announces (a list changed,
//! a resource was updated, a task changed) reaches the clients every replica holds.

use serde::{Deserialize, Serialize};

use super::task::TaskRecord;
use crate::event::ServerEvent;

/// Something one replica tells every other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Announcement {
    /// The tool list changed.
    ToolsChanged,
    /// The prompt list changed.
    PromptsChanged,
    /// The resource list changed.
    ResourcesChanged,
    /// One resource's contents changed.
    ResourceUpdated {
        /// The resource.
        uri: String,
    },
    /// A task of the tasks extension changed: as its replica just wrote it.
    Task {
        /// The task as `tasks/get` shows it, with who may see it.
        record: Box<TaskRecord>,
    },
}

impl Announcement {
    /// The announcement of `event` to the other replicas; `None` for one that
    /// concerns this replica's sessions alone: a URL-mode elicitation's completion,
    /// awaited by the session (or the copy of a shared one) that served the call
    /// here, whose client is told only on a stream this replica holds.
    pub fn of(event: &ServerEvent) -> Option<Self> {
        Some(match event {
            ServerEvent::ToolsChanged => Announcement::ToolsChanged,
            ServerEvent::PromptsChanged => Announcement::PromptsChanged,
            ServerEvent::ResourcesChanged => Announcement::ResourcesChanged,
            ServerEvent::ResourceUpdated(uri) => Announcement::ResourceUpdated { uri: uri.clone() },
            ServerEvent::ElicitationComplete(_) => return None,
        })
    }

    /// The server event it announces; `None` for a task's change.
    pub fn event(&self) -> Option<ServerEvent> {
        match self {
            Announcement::ToolsChanged => Some(ServerEvent::ToolsChanged),
            Announcement::PromptsChanged => Some(ServerEvent::PromptsChanged),
            Announcement::ResourcesChanged => Some(ServerEvent::ResourcesChanged),
            Announcement::ResourceUpdated { uri } => Some(ServerEvent::ResourceUpdated(uri.clone())),
            Announcement::Task { .. } => None,
        }
    }
}

/// An announcement, with the replica that made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heard {
    /// The replica's name.
    pub from: String,
    /// What it announced.
    pub announcement: Announcement,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_event_round_trips_through_its_announcement() {
        for event in [
            ServerEvent::ToolsChanged,
            ServerEvent::PromptsChanged,
            ServerEvent::ResourcesChanged,
            ServerEvent::ResourceUpdated("file:///a".into()),
        ] {
            let heard = Heard { from: "r1".into(), announcement: Announcement::of(&event).unwrap() };
            let wire = serde_json::to_string(&heard).unwrap();
            let back: Heard = serde_json::from_str(&wire).unwrap();
            assert_eq!(back.announcement.event(), Some(event), "{wire}");
        }
    }

    #[test]
    fn a_url_elicitations_completion_stays_on_its_replica() {
        assert_eq!(Announcement::of(&ServerEvent::ElicitationComplete("e-1".into())), None);
    }
}
