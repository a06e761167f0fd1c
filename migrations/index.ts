import { Init1795436340561 } from './1795436340561-Init';
import { Lifecycle1795439126084 } from './1795439126084-Lifecycle';
import { Journeys1795441724780 } from './1795441724780-Journeys';
import { Events1795600000000 } from './1795600000000-Events';
import { ApiKeyRateLimit1795700100000 } from './1795700100000-ApiKeyRateLimit';
import { WideRevenue1795700000000 } from './1795700000000-WideRevenue';
import { Privacy1795800000000 } from './1795800000000-Privacy';
import { ValueAndSegments1795900000000 } from './1795900000000-ValueAndSegments';
import { LifecycleEventIndex1796100000000 } from './1796100000000-LifecycleEventIndex';
import { TransitionStages1796000000000 } from './1796000000000-TransitionStages';
import { OpenJourneyIndex1796200000000 } from './1796200000000-OpenJourneyIndex';

// Every migration, in order. `npm run migration:generate -- Name` writes a new file; add it here.
export const migrations: Function[] = [Init1795436340561, Lifecycle1795439126084, Journeys1795441724780, Events1795600000000, WideRevenue1795700000000, ApiKeyRateLimit1795700100000, Privacy1795800000000, ValueAndSegments1795900000000, TransitionStages1796000000000, LifecycleEventIndex1796100000000, OpenJourneyIndex1796200000000];
