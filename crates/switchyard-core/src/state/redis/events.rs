//! Events across the team: each replica's events go to its own listeners stamped with its
//! node name, and the ones about providers (failover, recovery, cooldowns, pins, key
//! problems, budgets, "all down") are published for the other replicas, which hand them to
//! their listeners with the origin's node name. A replica never hears its own back.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::wire::{is_shared, Msg};
use super::Team;
use crate::events::Event;
use crate::state::{EventBus, Stamped};

impl Team {
    /// An event another replica published.
    pub(super) fn apply_event(&self, node: &str, event: Event) {
        if let Event::BudgetExceeded {
            provider, period, ..
        } = &event
        {
            // Announced there: not again here.
            self.usage
                .mark_notified(provider, *period, chrono::Utc::now());
        }
        self.events.emit_from(Some(Arc::from(node)), event);
    }
}

impl EventBus for Team {
    fn emit(&self, event: Event) {
        if is_shared(&event) {
            self.link.publish(Msg::Event {
                event: event.clone(),
            });
        }
        self.events.emit_from(Some(self.link.node.clone()), event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn subscribe_stamped(&self) -> broadcast::Receiver<Stamped> {
        self.events.subscribe_stamped()
    }

    fn has_listeners(&self) -> bool {
        self.events.has_listeners()
    }
}
