/** A column named for screen readers only (a column of buttons). */
export interface HiddenColumn {
  hidden: string;
}

/** A table's header row, one column header per entry. */
export function TableHead({ columns }: { columns: readonly (string | HiddenColumn)[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column) =>
          typeof column === 'string' ? (
            <th key={column} scope="col">
              {column}
            </th>
          ) : (
            <th key={column.hidden} scope="col">
              <span className="sr-only">{column.hidden}</span>
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}
