// Shared vocabulary (a column of the customer profile, see shared/lifecycle-stage.enum.ts), named
// here too for lifecycle/'s own files.
export { LifecycleStage } from '../shared/lifecycle-stage.enum';
