//! The clients that received tokens in a session (`sclients:<sid>`), for back-channel logout.

use std::time::Duration;

use super::Sessions;
use crate::session_store::StoreError;

fn clients_key(sid: &str) -> String {
    format!("sclients:{sid}")
}

impl Sessions {
    /// Notes that `client_id` received tokens in session `sid` (for back-channel logout).
    pub async fn add_client(&self, sid: &str, client_id: &str) -> Result<(), StoreError> {
        self.store
            .index_add(
                &clients_key(sid),
                client_id,
                self.clock.unix(),
                Duration::from_secs(400 * 86_400),
            )
            .await
    }

    /// Clients that received tokens in session `sid`.
    pub async fn clients(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .index_members(&clients_key(sid))
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    pub async fn forget_clients(&self, sid: &str) -> Result<(), StoreError> {
        self.store.delete(&clients_key(sid)).await.map(|_| ())
    }
}
