//! Address-list files for enrichment in AWS: `s3://bucket/key` objects through the S3 text
//! loader, anything else from the function's own file system (a list shipped in the zip).

use async_trait::async_trait;
use jcwatch_detection::enrich::{ListSource, LocalFiles};

use crate::s3::S3ConfigLoader;

/// Reads address lists from S3 or the local disk.
#[derive(Debug, Clone)]
pub struct S3ListSource {
    loader: S3ConfigLoader,
}

impl S3ListSource {
    pub fn new(loader: S3ConfigLoader) -> Self {
        S3ListSource { loader }
    }
}

#[async_trait]
impl ListSource for S3ListSource {
    async fn read_text(&self, location: &str) -> Result<String, String> {
        if location.starts_with("s3://") {
            return self
                .loader
                .load_text(location)
                .await
                .map_err(|e| e.to_string());
        }
        LocalFiles.read_text(location).await
    }
}
