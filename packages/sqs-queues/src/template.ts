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

/** One statement of an IAM policy document (identity or resource policy). */
export interface IamStatement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Principal?: CfnValue
  Action: string | string[]
  Resource: CfnValue
  Condition?: CfnValue
}

/** An IAM policy document of these statements, as a template value. */
export function policyDocument(statements: IamStatement[]): CfnValue {
  // Statements are plain JSON; the cast only drops the optional keys' `undefined` from the type.
  return { Version: '2012-10-17', Statement: statements as unknown as CfnValue[] }
}

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

/** The pseudo parameters CloudFormation resolves itself (`AWS::StackName`...): never a resource. */
const isPseudoParameter = (name: string): boolean => name.startsWith('AWS::')

/** The logical ids a `Fn::Sub` string names (`${Id}`, `${Id.Attribute}`), less its own variables and `${!literal}`s. */
function subReferences(text: string, variables: Set<string>): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)]
    .map((match) => match[1]!.split('.')[0]!)
    .filter((name) => !variables.has(name) && !isPseudoParameter(name))
}

/**
 * Every logical id `value` refers to, through `Ref`, `Fn::GetAtt`, `Fn::Sub`
 * or `DependsOn`: what must exist in the template for CloudFormation to take it.
 */
export function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencesIn)
  if (!isObject(value)) return []
  const found: string[] = []
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'Ref' && typeof inner === 'string') {
      if (!isPseudoParameter(inner)) found.push(inner)
    } else if (key === 'Fn::GetAtt') {
      const target = Array.isArray(inner) ? inner[0] : typeof inner === 'string' ? inner.split('.')[0] : undefined
      if (typeof target === 'string') found.push(target)
    } else if (key === 'Fn::Sub') {
      const [text, variables] = Array.isArray(inner) ? inner : [inner, {}]
      if (typeof text === 'string') found.push(...subReferences(text, new Set(isObject(variables) ? Object.keys(variables) : [])))
      found.push(...referencesIn(variables))
    } else if (key === 'DependsOn') {
      found.push(...[inner].flat().filter((id): id is string => typeof id === 'string'))
    } else {
      found.push(...referencesIn(inner))
    }
  }
  return found
}

/**
 * The logical ids a resource depends on. A SAM function's Events are not
 * among them: SAM makes each event a resource of its own (a permission, a
 * mapping) that depends on the function, so an HttpApi event's Ref of the API,
 * whose body names the function, is no cycle.
 */
export function dependenciesOf(item: CfnResource): string[] {
  if (item.Type !== 'AWS::Serverless::Function' || !item.Properties?.Events) return referencesIn(item)
  const { Events: _events, ...properties } = item.Properties
  return referencesIn({ ...item, Properties: properties })
}

/** Whether resource `from` refers to `target`, directly or through the resources it refers to: CloudFormation creates `target` first. */
export function refersTo(template: CfnTemplate, from: string, target: string): boolean {
  const seen = new Set<string>()
  const pending = [from]
  while (pending.length) {
    const id = pending.pop()!
    if (seen.has(id)) continue
    seen.add(id)
    const item = template.Resources[id]
    if (!item) continue
    for (const next of dependenciesOf(item)) {
      if (next === target) return true
      pending.push(next)
    }
  }
  return false
}
