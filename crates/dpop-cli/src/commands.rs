//! One module per subcommand. Each `run` returns the exit status on success (0, or 1 for a
//! proof `verify` rejects) and a [`CliError`](crate::error::CliError) otherwise.

#[cfg(feature = "demo")]
pub(crate) mod demo;
pub(crate) mod inspect;
pub(crate) mod keygen;
pub(crate) mod proof;
#[cfg(feature = "serve")]
pub(crate) mod serve;
pub(crate) mod thumbprint;
pub(crate) mod verify;
