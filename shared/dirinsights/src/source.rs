//! The client as the poll use case's [`EventSource`].

use async_trait::async_trait;
use jcwatch_core::ports::{EventSource, Page, PageRequest, SourceError};

use crate::client::Client;

#[async_trait]
impl EventSource for Client {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Page, SourceError> {
        Client::fetch_page(self, request).await.map_err(Into::into)
    }
}
