//! The store suite on PostgreSQL, one new database per test on the cluster
//! `CALLVAULT_TEST_POSTGRES_URL` names (the test command starts one).

callvault_store_testing::store_suite!(callvault_store_testing::fresh_postgres());
