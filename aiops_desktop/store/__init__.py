"""Layer 2: the SQLite cache: one file, WAL, migrations, one writer thread, compact series
chunks, captures. Import from the module that holds a name (``store.series``, ...): this
package loads nothing by itself."""
