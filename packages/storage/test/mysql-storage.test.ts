/** MysqlStorage's own tests (the shared storage contract is in contract.test.ts): see support/sql-suite.ts. */
import { describeSqlStorage } from "./support/sql-suite.ts";

describeSqlStorage("mysql");
