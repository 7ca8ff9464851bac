//! The poll function's errors as Lambda reports them: one of a small fixed set of
//! `error_type`s, so retries, alarms and log queries can tell them apart.

use jcwatch_core::poll::ErrorCategory;
use lambda_runtime::Diagnostic;

/// A failed invocation: its category and a message for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FunctionError {
    pub category: ErrorCategory,
    pub message: String,
}

impl FunctionError {
    pub fn new(category: ErrorCategory, message: impl Into<String>) -> Self {
        FunctionError {
            category,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::BadInput, message)
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Retryable, message)
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Fatal, message)
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Diagnostic {
        Diagnostic {
            error_type: error.category.as_str().to_string(),
            error_message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagnostic_carries_the_category_as_error_type() {
        let error = FunctionError::fatal("JumpCloud refused the API key (HTTP 401)");

        let diagnostic = Diagnostic::from(error);

        assert_eq!(diagnostic.error_type, "Fatal");
        assert_eq!(
            diagnostic.error_message,
            "JumpCloud refused the API key (HTTP 401)"
        );
    }
}
