/**
 * CloudFormation (SAM) template types and the small helpers the deploy halves
 * of the plugins share. Transforms are pure: they return a changed copy.
 */

/** CloudFormation values: literals or intrinsic functions ({ Ref }, { 'Fn::Sub' }...). */
export type CfnValue = string | number | boolean | null | CfnValue[] | { [key: string]: CfnValue }
export type CfnProperties = { [key: string]: CfnValue }

export interface CfnResource {
  Type: string
  Properties?: CfnProperties
  DependsOn?: string | string[]
  ArcMetadata?: { pragma?: string; name?: string }
  [key: string]: unknown
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>
  Outputs?: Record<string, { Description?: string; Value: CfnValue }>
  [key: string]: unknown
}

export type Stage = 'staging' | 'production'

export class TemplateError extends Error {
  override readonly name = 'TemplateError'
}

export const ref = (id: string): CfnValue => ({ Ref: id })
export const arnOf = (id: string): CfnValue => ({ 'Fn::GetAtt': [id, 'Arn'] })
export const isObject = (value: unknown): value is CfnProperties => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The resource `id` of type `type`, with its Properties object; a missing one means Architect changed its names. */
export function resource(template: CfnTemplate, id: string, type: string): CfnResource & { Properties: CfnProperties } {
  const found = template.Resources[id]
  if (!found || found.Type !== type) {
    throw new TemplateError(`The template from @architect/package has no ${type} "${id}"; has Architect changed its resource names?`)
  }
  found.Properties ??= {}
  return found as CfnResource & { Properties: CfnProperties }
}

/** Every Lambda function of the template, with its Properties object. */
export function functionsOf(template: CfnTemplate): [string, CfnResource & { Properties: CfnProperties }][] {
  return Object.entries(template.Resources)
    .filter(([, item]) => item.Type === 'AWS::Serverless::Function')
    .map(([id, item]) => {
      item.Properties ??= {}
      return [id, item as CfnResource & { Properties: CfnProperties }]
    })
}

/** A function's environment variables, created when absent: changes to it change the function. */
export function variablesOf(fn: CfnResource & { Properties: CfnProperties }): CfnProperties {
  const environment = isObject(fn.Properties.Environment) ? fn.Properties.Environment : {}
  const variables = isObject(environment.Variables) ? environment.Variables : {}
  environment.Variables = variables
  fn.Properties.Environment = environment
  return variables
}
