//! A pooled connection with its prepared statements: each SQL text the store uses is prepared
//! once per connection, so a read is one round trip (bind and execute) instead of two (parse
//! and describe first), and the server plans it once.

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use std::collections::HashMap;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection and the statements prepared on it.
pub(crate) struct Conn {
    client: Client,
    stmts: HashMap<&'static str, Statement>,
}

/// What runs statements: a connection or a transaction on it.
pub(crate) trait Query {
    /// The rows of `sql`, prepared once per connection.
    fn query(&mut self, sql: &'static str, p: Params<'_>) -> Result<Vec<Row>, postgres::Error>;
    /// One row or none.
    fn query_opt(&mut self, sql: &'static str, p: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let mut rows = self.query(sql, p)?;
        Ok(if rows.is_empty() {
            None
        } else {
            Some(rows.swap_remove(0))
        })
    }
    /// Exactly one row (an error otherwise, never a panic).
    fn query_one(&mut self, sql: &'static str, p: Params<'_>) -> Result<Row, postgres::Error>;
    /// Rows changed.
    fn execute(&mut self, sql: &'static str, p: Params<'_>) -> Result<u64, postgres::Error>;
}

fn prepared(
    stmts: &mut HashMap<&'static str, Statement>,
    sql: &'static str,
    prepare: impl FnOnce(&str) -> Result<Statement, postgres::Error>,
) -> Result<Statement, postgres::Error> {
    if let Some(s) = stmts.get(sql) {
        return Ok(s.clone());
    }
    let s = prepare(sql)?;
    stmts.insert(sql, s.clone());
    Ok(s)
}

impl Conn {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            stmts: HashMap::new(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs SQL text as is (no parameters, not prepared): settings, the schema.
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client.batch_execute(sql)
    }

    pub(crate) fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx {
            tx: self.client.transaction()?,
            stmts: &mut self.stmts,
        })
    }
}

impl Query for Conn {
    fn query(&mut self, sql: &'static str, p: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = prepared(&mut self.stmts, sql, |q| self.client.prepare(q))?;
        self.client.query(&s, p)
    }
    fn query_one(&mut self, sql: &'static str, p: Params<'_>) -> Result<Row, postgres::Error> {
        let s = prepared(&mut self.stmts, sql, |q| self.client.prepare(q))?;
        self.client.query_one(&s, p)
    }
    fn execute(&mut self, sql: &'static str, p: Params<'_>) -> Result<u64, postgres::Error> {
        let s = prepared(&mut self.stmts, sql, |q| self.client.prepare(q))?;
        self.client.execute(&s, p)
    }
}

/// A transaction on a [`Conn`], sharing its prepared statements.
pub(crate) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    stmts: &'a mut HashMap<&'static str, Statement>,
}

impl Tx<'_> {
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.tx.batch_execute(sql)
    }
    pub(crate) fn copy_in(&mut self, sql: &str) -> Result<postgres::CopyInWriter<'_>, postgres::Error> {
        self.tx.copy_in(sql)
    }
    pub(crate) fn execute_once(&mut self, sql: &str, p: Params<'_>) -> Result<u64, postgres::Error> {
        self.tx.execute(sql, p)
    }
    pub(crate) fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
    pub(crate) fn rollback(self) -> Result<(), postgres::Error> {
        self.tx.rollback()
    }
}

impl Query for Tx<'_> {
    fn query(&mut self, sql: &'static str, p: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = prepared(self.stmts, sql, |q| self.tx.prepare(q))?;
        self.tx.query(&s, p)
    }
    fn query_one(&mut self, sql: &'static str, p: Params<'_>) -> Result<Row, postgres::Error> {
        let s = prepared(self.stmts, sql, |q| self.tx.prepare(q))?;
        self.tx.query_one(&s, p)
    }
    fn execute(&mut self, sql: &'static str, p: Params<'_>) -> Result<u64, postgres::Error> {
        let s = prepared(self.stmts, sql, |q| self.tx.prepare(q))?;
        self.tx.execute(&s, p)
    }
}
