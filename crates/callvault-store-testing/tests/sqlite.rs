//! The store suite on SQLite, in a temporary folder.

callvault_store_testing::store_suite!(callvault_store_testing::fresh_sqlite());
