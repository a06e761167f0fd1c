import { DataSource } from 'typeorm';

import { ApiKey } from './modules/access/api-key.entity';
import { Customer } from './modules/customers/customer.entity';
import { Identifier } from './modules/identity/identifier.entity';
import { IdentityConflict } from './modules/identity/identity-conflict.entity';
import { Merge } from './modules/identity/merge.entity';
import { Interaction } from './modules/interactions/interaction.entity';
import { Journey } from './modules/journeys/journey.entity';
import { LifecycleTransition } from './modules/lifecycle/lifecycle-transition.entity';
import { migrations } from '../migrations';
import { QueryCounter } from './db/query-counter';

export const entities = [ApiKey, Customer, Identifier, Interaction, Merge, IdentityConflict, LifecycleTransition, Journey];

/** The one DataSource of a process. The schema only ever changes through `migrations/`. */
export function createDataSource(
  url: string,
  options: { poolSize?: number; verbose?: boolean; statementTimeoutMs?: number; applicationName?: string } = {},
): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['query', 'error', 'warn', 'migration'],
    logger: new QueryCounter(options.verbose),
    maxQueryExecutionTime: 2000,
    poolSize: options.poolSize ?? 20,
    // statement_timeout (0: none) bounds what one statement may hold a connection for.
    extra: { application_name: options.applicationName ?? 'customer-graph', statement_timeout: options.statementTimeoutMs ?? 0 },
  });
}

export function queryCounter(dataSource: DataSource): QueryCounter {
  return dataSource.logger as QueryCounter;
}
